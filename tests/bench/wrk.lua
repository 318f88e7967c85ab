-- wrk's request for tests/bench/host_bench, from the environment: the
-- method, a JSON body and a bearer token.  Set once, so wrk builds the
-- request a single time and sends it on every keep-alive round trip.
wrk.method = os.getenv("BENCH_METHOD") or "GET"

local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
	wrk.body = body
	wrk.headers["Content-Type"] = "application/json"
end

local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
	wrk.headers["Authorization"] = "Bearer " .. token
end
