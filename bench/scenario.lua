-- wrk script for one govhall benchmark scenario (wrk 4, LuaJIT).
--
-- The scenario file (first argument after --) holds:
--   line 1: method            line 2: expected status       line 3: expected text (may be empty)
--   line 4: headers, "Name: value" separated by tabs      line 5: body (may be empty)
--   line 6: "cycle" (paths repeat) or "once" (each path is requested once: actions on tasks)
--   then one path per line; a path may be followed by a tab and headers of its own, "Name: value"
--   separated by tabs (an If-None-Match with the ETag the path answered before), and by a body of
--   its own, written as the pseudo-header ":body: text" (no HTTP header name begins with ":").
-- The second argument is the number of threads: each takes every n-th path, so "once" paths
-- are never shared between threads.
-- Every answer is checked: a wrong status or a missing text counts as an error.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function split(text, separator)
  local parts = {}
  for part in string.gmatch(text, "([^" .. separator .. "]+)") do
    table.insert(parts, part)
  end
  return parts
end

local function headers_add(into, text)
  local own_body = nil
  for _, header in ipairs(split(text, "\t")) do
    local text_of_body = string.match(header, "^:body: (.*)$")
    if text_of_body then
      own_body = text_of_body
    else
      local name, value = string.match(header, "^([^:]+):%s*(.*)$")
      if name then
        into[name] = value
      end
    end
  end
  return into, own_body
end

-- A path line: the path, and the scenario's headers with the path's own added.
local function request_of(line)
  local path, own = string.match(line, "^([^\t]*)\t(.*)$")
  if not path then
    return { path = line, headers = headers }
  end
  local merged = {}
  for name, value in pairs(headers) do
    merged[name] = value
  end
  local own_headers, own_body = headers_add(merged, own)
  return { path = path, headers = own_headers, body = own_body }
end

function init(args)
  local file = assert(io.open(args[1], "r"))
  local lines = {}
  for line in file:lines() do
    table.insert(lines, line)
  end
  file:close()
  method = lines[1]
  expected_status = tonumber(lines[2])
  expected_text = lines[3]
  headers = headers_add({}, lines[4])
  body = lines[5]
  if body == "" then
    body = nil
  end
  once = lines[6] == "once"
  paths = {}
  local total = tonumber(args[2]) or 1
  local index = 0
  local all = {}
  for i = 7, #lines do
    if lines[i] ~= "" then
      local request = request_of(lines[i])
      if index % total == id then
        table.insert(paths, request)
      end
      table.insert(all, request)
      index = index + 1
    end
  end
  if #paths == 0 and not once then
    -- Fewer paths than threads: a repeated request is shared.
    paths = all
  end
  position = 0
  errors = 0
  exhausted = 0
  samples = ""
end

function request()
  if #paths == 0 then
    exhausted = exhausted + 1
    return wrk.format("GET", "/healthz")
  end
  position = position + 1
  if position > #paths then
    if once then
      exhausted = exhausted + 1
    end
    position = 1
  end
  return wrk.format(method, paths[position].path, paths[position].headers, paths[position].body or body)
end

function response(status, response_headers, response_body)
  local ok = status == expected_status
  if ok and expected_text ~= "" and not string.find(response_body, expected_text, 1, true) then
    ok = false
  end
  if not ok then
    errors = errors + 1
    if #samples < 600 then
      samples = samples .. status .. " " .. string.sub(response_body or "", 1, 160):gsub("[\r\n\t\"\\]", " ") .. " | "
    end
  end
end

function done(summary, latency, requests)
  local errors_total = 0
  local exhausted_total = 0
  local samples_all = ""
  for _, thread in ipairs(threads) do
    errors_total = errors_total + (tonumber(thread:get("errors")) or 0)
    exhausted_total = exhausted_total + (tonumber(thread:get("exhausted")) or 0)
    samples_all = samples_all .. (thread:get("samples") or "")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "check_errors": %d, "exhausted": %d, '
      .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, '
      .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, "samples": "%s"}\n',
    summary.requests, summary.duration, summary.bytes, errors_total, exhausted_total,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean,
    string.sub(samples_all, 1, 600)
  ))
end
