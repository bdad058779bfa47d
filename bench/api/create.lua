-- bench/api/create.lua — wrk: POST a new content item (a JSON body) to a
-- random organisation's workspace as its owner.  BENCH_TOKENS names a file
-- of lines
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
	local body = string.format(
		'{"workspace_id":"%s","title":"Bench","body":"Bench body for org %s","platform":"sandbox","media_urls":[]}',
		u.ws, u.org)
	return wrk.format("POST", "/api/v1/organizations/" .. u.org .. "/content/",
		{ ["Authorization"] = "Bearer " .. u.tok, ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
	io.write(string.format("   non-2xx responses: %d\n", summary.errors.status))
end
