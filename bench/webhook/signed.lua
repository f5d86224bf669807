-- wrk script: POST pre-signed Twilio webhooks, each once, and report figures as one JSON line.
-- Usage: wrk -t T -c C -d D -s signed.lua URL -- <file of "signature<TAB>body" lines> <T>
-- Thread k of T sends lines k, k+T, k+2T ... (each MessageSid once); "wrapped" counts a thread that
-- ran out of lines and started again, which the driver treats as a failed run (repeats are not new rows).

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file, stride = args[1], tonumber(args[2])
  requests_ready = {}
  local line_number = 0
  for line in io.lines(file) do
    if line_number % stride == id then
      local signature, body = line:match("^([^\t]+)\t(.*)$")
      requests_ready[#requests_ready + 1] = wrk.format("POST", "/webhooks/twilio/sms", {
        ["Host"] = wrk.host .. ":" .. wrk.port,
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = signature,
      }, body)
    end
    line_number = line_number + 1
  end
  position = 0
  sent = 0
  wrapped = 0
end

function request()
  position = position + 1
  if position > #requests_ready then
    position = 1
    wrapped = wrapped + 1
  end
  sent = sent + 1
  return requests_ready[position]
end

function done(summary, latency, requests)
  local sent_total, wrapped_total, sent_by_thread = 0, 0, {}
  for _, thread in ipairs(threads) do
    sent_total = sent_total + thread:get("sent")
    wrapped_total = wrapped_total + thread:get("wrapped")
    sent_by_thread[thread:get("id") + 1] = thread:get("sent")
  end
  local errors = summary.errors
  io.write(string.format(
    '\nWRK_JSON {"duration_us": %d, "requests": %d, "bytes": %d, "sent": %d, "sent_by_thread": [%s], "wrapped": %d, '
    .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.duration, summary.requests, summary.bytes, sent_total, table.concat(sent_by_thread, ", "),
    wrapped_total,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
