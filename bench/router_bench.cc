// Benchmarks of Codeswarm's hot paths, on loopback with the real binary and the mock agent.
//
//   codeswarm_bench [--quick | --streaming [RUNS] | --journal-codec]
//
// --streaming runs only 3. with one client, RUNS times (default 1), one table row each: for
// comparing two builds run alternately (docs/BENCHMARKS.md, "The event journal"), the router
// being CODESWARM_BENCH_BINARY when set.
//
// 1. Injection latency, one node: inject → inject_ack → first assistant_delta → turn_complete,
//    as seen by a client (p50/p90/p99 over many injections).
// 2. Fan-out latency: inject into all nodes of a 16-node swarm until every turn_complete.
// 3. Streaming throughput: runtime events per second from 4 nodes streaming as fast as the mock
//    can, received by 1 and by 4 clients at once.
// 4. The router's per-event work in isolation: parse a worker's event line and splice it into
//    the client envelope (no sockets); and the journal's compact form of such lines (encode,
//    decode, bytes per line).
// Results go to stdout as Markdown (docs/BENCHMARKS.md keeps a copy).
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "e2e/harness.h"
#include "protocol/event_line.h"
#include "protocol/worker_protocol.h"
#include "router/journal_codec.h"

namespace codeswarm::bench {
namespace {

namespace json = boost::json;
using e2e::ProtocolClient;
using e2e::RouterProcess;
using e2e::Str;
using e2e::TempDir;
using Clock = std::chrono::steady_clock;

void InjectionLatency(int rounds) {
  TempDir dir;
  RouterProcess router(
      dir, {{"router", {{"log_level", "warn"}}}, {"agent", {{"mock", {{"chunks", 4}}}}}});
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, 1);
  std::vector<double> ack, first, done;
  for (int i = 0; i < rounds; ++i) {
    auto t0 = Clock::now();
    std::string rid =
        client.Send("inject", {{"swarm_id", swarm}, {"content", "ping " + std::to_string(i)}});
    json::object a = client.Answer(rid);
    ack.push_back(Ms(Clock::now() - t0));
    std::string injection = Field(a, "injection_id");
    client.WaitFor([&](const json::object& e) {
      return Is(e, "assistant_delta") && Field(e, "injection_id") == injection;
    });
    first.push_back(Ms(Clock::now() - t0));
    client.WaitFor([&](const json::object& e) {
      return Is(e, "turn_complete") && Field(e, "injection_id") == injection;
    });
    done.push_back(Ms(Clock::now() - t0));
  }
  std::printf("### Injection latency, 1 node, mock agent (%d injections, one at a time)\n\n",
              rounds);
  std::printf("| from inject to | p50 ms | p90 ms | p99 ms |\n|---|---|---|---|\n");
  auto row = [](const char* what, const std::vector<double>& v) {
    std::printf("| %s | %.3f | %.3f | %.3f |\n", what, Percentile(v, 0.5), Percentile(v, 0.9),
                Percentile(v, 0.99));
  };
  row("`inject_ack`", ack);
  row("first `assistant_delta`", first);
  row("`turn_complete`", done);
  std::printf("\n");
}

void FanOutLatency(int nodes, int rounds) {
  TempDir dir;
  RouterProcess router(
      dir, {{"router", {{"log_level", "warn"}}}, {"agent", {{"mock", {{"chunks", 4}}}}}});
  router.Start();
  ProtocolClient client(router.port());
  std::string swarm = LaunchAndWait(client, nodes);
  std::vector<double> all_done;
  for (int i = 0; i < rounds; ++i) {
    auto t0 = Clock::now();
    std::string rid = client.Send("inject", {{"swarm_id", swarm}, {"content", "go"}});
    std::string injection = Field(client.Answer(rid), "injection_id");
    for (int n = 0; n < nodes; ++n) {
      client.WaitFor([&](const json::object& e) {
        return Is(e, "turn_complete") && Field(e, "injection_id") == injection;
      });
    }
    all_done.push_back(Ms(Clock::now() - t0));
  }
  std::printf("### Fan-out latency, %d nodes (%d injections into all nodes)\n\n", nodes, rounds);
  std::printf(
      "| from inject to the last `turn_complete` | p50 ms | p90 ms | p99 ms "
      "|\n|---|---|---|---|\n");
  std::printf("| all %d nodes done | %.3f | %.3f | %.3f |\n\n", nodes, Percentile(all_done, 0.5),
              Percentile(all_done, 0.9), Percentile(all_done, 0.99));
}

void StreamingThroughput(int nodes, int chunks, const std::vector<int>& client_counts) {
  std::printf(
      "### Streaming throughput: %d nodes, each streaming %d `assistant_delta` events per turn\n\n",
      nodes, chunks);
  std::printf(
      "| clients | events per client | seconds | events/s per client | events/s delivered in total "
      "|\n|---|---|---|---|---|\n");
  for (int clients : client_counts) {
    TempDir dir;
    RouterProcess router(dir, {{"router", {{"log_level", "warn"}, {"client_queue_bytes", 1 << 30}}},
                               {"agent", {{"mock", {{"reply", "{prompt}"}, {"chunks", chunks}}}}}});
    // Another build's binary, to compare two builds with the same benchmark.
    if (const char* binary = std::getenv("CODESWARM_BENCH_BINARY")) router.UseBinary(binary);
    router.Start();
    ProtocolClient control(router.port());
    std::string swarm = LaunchAndWait(control, nodes);
    std::vector<std::unique_ptr<CountingClient>> readers;
    for (int c = 0; c < clients; ++c)
      readers.push_back(std::make_unique<CountingClient>(router.port()));
    std::string prompt(static_cast<std::size_t>(chunks) * 8, 'x');  // 8-byte deltas
    std::vector<uint64_t> counts(static_cast<std::size_t>(clients));
    auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        counts[static_cast<std::size_t>(c)] =
            readers[static_cast<std::size_t>(c)]->ReadUntil(nodes);
      });
    }
    control.Send("inject", {{"swarm_id", swarm}, {"content", prompt}});
    for (auto& t : threads) t.join();
    double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    uint64_t per_client = counts[0];
    std::printf("| %d | %llu | %.3f | %.0f | %.0f |\n", clients,
                static_cast<unsigned long long>(per_client), seconds,
                static_cast<double>(per_client) / seconds,
                static_cast<double>(per_client) * clients / seconds);
  }
  std::printf("\n");
}

void SpliceMicro(int events) {
  std::string line = protocol::FormatEventMessage(12345, "i-0c1d2e3f4a5b", "assistant_delta",
                                                  R"({"delta":"Hello, wor"})");
  line.pop_back();                                           // the newline
  std::string_view body = std::string_view(line).substr(6);  // after "event "
  std::string ids = R"("swarm_id":"s-3f9a1c2e","job_id":"local-s-3f9a1c2e","node_id":3)";
  std::string out;
  out.reserve(256);
  std::size_t bytes = 0;
  auto t0 = Clock::now();
  for (int i = 0; i < events; ++i) {
    auto parsed = protocol::ParseEventBody(body);
    out.clear();
    protocol::AppendRuntimeEventLine(out, static_cast<uint64_t>(i), "2026-11-25T01:02:03.456Z",
                                     parsed->event, ids, parsed->injection_id, parsed->data);
    bytes += out.size();
  }
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("### Router per-event work, one core, no I/O (%d events)\n\n", events);
  std::printf("| step | events/s | ns/event |\n|---|---|---|\n");
  std::printf(
      "| check the worker's event line (header tokens + JSON syntax of `data`) and splice it into "
      "the client envelope | %.0f | %.0f |\n\n",
      events / seconds, seconds * 1e9 / events);
  if (bytes == 0) std::printf("(nothing)\n");
}

// 4 nodes' assistant_delta lines interleaved, in chunks of 2,000 (a commit of a streaming turn),
// through the journal's compact form and back.
void JournalCodecMicro(int events) {
  constexpr int kChunk = 2000;
  std::vector<std::string> lines;
  std::size_t line_bytes = 0;
  for (int i = 0; i < kChunk; ++i) {
    std::string line;
    const int node = i % 4;
    protocol::AppendRuntimeEventLine(
        line, 1000000 + static_cast<uint64_t>(i),
        "2026-12-02T10:00:00." + std::to_string(100 + i / 500) + "Z", "assistant_delta",
        R"("swarm_id":"s-3f9a1c2e","job_id":"local-s-3f9a1c2e","node_id":)" + std::to_string(node),
        "i-0c1d2e3f4a5b", R"({"delta":"Hello, wo"})");
    line_bytes += line.size();
    lines.push_back(std::move(line));
  }
  router::JournalChunkEncoder encoder;
  const int rounds = std::max(1, events / kChunk);
  std::size_t chunk_bytes = 0;
  auto t0 = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    encoder.Clear();
    for (int i = 0; i < kChunk; ++i)
      encoder.Add(1000000 + static_cast<uint64_t>(i), lines[static_cast<std::size_t>(i)]);
    chunk_bytes = encoder.bytes().size();
  }
  const double encode_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::string scratch;
  std::size_t decoded = 0;
  t0 = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    Status s =
        router::DecodeJournalChunk(encoder.bytes(), scratch, [&](uint64_t, std::string_view line) {
          decoded += line.size();
          return true;
        });
    if (!s.ok()) std::printf("decode failed: %s\n", s.message().c_str());
  }
  const double decode_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double n = static_cast<double>(rounds) * kChunk;
  std::printf(
      "### The journal's compact form, one core (%d `assistant_delta` lines of 4 nodes, chunks of "
      "%d)\n\n",
      rounds * kChunk, kChunk);
  std::printf("| step | lines/s | ns/line |\n|---|---|---|\n");
  std::printf(
      "| encode (split the line, look up its timestamp, event and ids, write the rest) | %.0f | "
      "%.0f |\n",
      n / encode_s, encode_s * 1e9 / n);
  std::printf("| decode (rebuild the line byte for byte) | %.0f | %.0f |\n\n", n / decode_s,
              decode_s * 1e9 / n);
  std::printf("A line of %.0f bytes is kept in %.1f bytes.\n\n",
              static_cast<double>(line_bytes) / kChunk, static_cast<double>(chunk_bytes) / kChunk);
  if (decoded == 0) std::printf("(nothing)\n");
}

}  // namespace
}  // namespace codeswarm::bench

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  using namespace codeswarm::bench;
  if (argc > 1 && std::strcmp(argv[1], "--streaming") == 0) {
    // One table, a row per run: each row is a fresh router with one client.
    const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1;
    StreamingThroughput(4, 50000, std::vector<int>(static_cast<std::size_t>(runs), 1));
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "--journal-codec") == 0) {
    JournalCodecMicro(2000000);
    return 0;
  }
  std::printf("## Results\n\n");
  SpliceMicro(quick ? 200000 : 2000000);
  JournalCodecMicro(quick ? 200000 : 2000000);
  InjectionLatency(quick ? 50 : 500);
  FanOutLatency(16, quick ? 10 : 100);
  StreamingThroughput(4, quick ? 5000 : 50000, {1, 4});
  return 0;
}
