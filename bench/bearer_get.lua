-- wrk script: GETs the URL with the bearer token that FILE holds, on every request.
function init(args)
    local file = io.open(args[1])
    wrk.headers["Authorization"] = "Bearer " .. file:read("*l")
    file:close()
    wrk.method = "GET"
end
