-- bench/api/list.lua — wrk: GET the first content page (20) of a random
-- organisation as its owner.  BENCH_TOKENS names a file of lines
-- "<access token> <org id> <workspace id>" (bench/api_bench.sh writes it).
local users = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
	local tok, org, ws = line:match("^(%S+) (%S+) (%S+)$")
	users[#users + 1] = { tok = tok, org = org, ws = ws }
end

function init(args)
	math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1e6) % 1000)
end

function request()
	local u = users[math.random(#users)]
	return wrk.format("GET", "/api/v1/organizations/" .. u.org .. "/content/?limit=20",
		{ ["Authorization"] = "Bearer " .. u.tok })
end

function done(summary, latency, requests)
	io.write(string.format("   non-2xx responses: %d\n", summary.errors.status))
end
