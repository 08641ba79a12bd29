-- wrk script: POSTs the same client_secret token request (FILE holds the body) on every request.
function init(args)
    local file = io.open(args[1])
    wrk.body = file:read("*l")
    file:close()
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
