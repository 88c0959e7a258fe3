-- wrk script for make bench: POSTs the records of an NDJSON file to /pin/, one per request, each
-- thread cycling through its own share of the lines, and writes the unique_id of every 200 response
-- to <dir>/accepted-<thread>.txt, so the bench can check that each of them is in Kafka.
-- With DIR "-" nothing is recorded: wrk then skips its response callback, which costs it about a
-- third of its rate (for the run that only measures).
-- usage: wrk -t THREADS -s bench/post_pins.lua URL -- RECORDS.jsonl DIR|- THREADS
local counter = 0

function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
end

function init(args)
    local path, dir, counter_total = args[1], args[2], tonumber(args[3])
    records = {}
    local index = 0
    for line in io.lines(path) do
        -- Thread k takes lines k, k + n, k + 2n, … of n threads: no record is sent twice.
        if index % counter_total == id then table.insert(records, line) end
        index = index + 1
    end
    next_record = 1
    -- Each request is built here, before the clock starts, rather than in request(): formatting
    -- one per request took wrk a fifth of its CPU, on the two cores it shares with the server.
    local headers = { ["Content-Type"] = "application/json" }
    for i = 1, #records do records[i] = wrk.format("POST", "/pin/", headers, records[i]) end
    if dir == "-" then
        response = nil -- wrk looks for a response function after init
        return
    end
    accepted = io.open(dir .. "/accepted-" .. id .. ".txt", "w")
    -- wrk never closes a thread's state: line buffering so nothing is left unwritten.
    accepted:setvbuf("line")
end

function request()
    local prepared = records[next_record]
    next_record = next_record % #records + 1
    return prepared
end

function response(status, headers, body)
    if status == 200 then
        accepted:write(string.match(body, '"unique_id":"([^"]+)"'), "\n")
    end
end
