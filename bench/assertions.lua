-- wrk script: POSTs pre-signed token requests, one line of the bodies file per request, never
-- the same one twice (client assertions are single-use). Usage: wrk … -s assertions.lua URL -- FILE
local bodies = {}
local next_body = 1

function init(args)
    for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
    local body = bodies[next_body]
    if body == nil then
        -- Out of fresh assertions: send an empty body, which fails and shows as non-2xx.
        body = ""
    end
    next_body = next_body + 1
    return wrk.format(nil, nil, nil, body)
end
