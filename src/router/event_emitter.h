// Turns the core's decisions into event lines: envelope, timestamp, and a seq for broadcast
// events that never repeats (blocks of seqs are reserved durably in the Store). Loop thread only.
//
// Write-ahead journal: broadcast lines are held until Flush(), which writes them to the Store's
// journal together with the node marks (the last worker event taken per node) in one
// transaction, and only then hands them to the clients. So a client never sees an event a
// restarted router does not have, and a worker is never told an event is safe (ack) before it
// is. Replies to one client queue behind the broadcasts before them, keeping their order.
//
// The write runs where set_writer says (the router's journal thread: the loop goes on reading
// workers meanwhile, and what arrives goes into the next transaction), one at a time, in order;
// without a writer it runs inline.
//
// When the journal cannot be written (disk full, read-only), the emitter holds: broadcasts and
// node marks stay queued (no client sees them, no worker is acknowledged), Flush no longer
// touches the store, and replies to one client go out at once (they are not journaled, and a
// person asking for status must get an answer). RetryJournal writes everything held in one
// transaction (inline); when it succeeds the held lines go out in order and holding ends.
#pragma once

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "router/channels.h"
#include "router/store.h"

namespace codeswarm::router {

class EventEmitter {
 public:
  static constexpr uint64_t kDefaultSeqBlock = 1 << 16;

  // Reserves seqs from `store` `seq_block` at a time.
  EventEmitter(ClientChannel& clients, Store& store, const Clock& clock,
               uint64_t seq_block = kDefaultSeqBlock);

  // Reserves the first block of seqs: everything below it (a previous router's events) counts as
  // delivered, so a client that connects before this router broadcasts anything gets those in
  // its replay. Fails when the store cannot reserve (seqs are then counted in memory).
  Status Start();

  // Queues `event` with `data` for every client, with the next seq, and returns the seq. The
  // journal files it under data's "swarm_id" (if any).
  uint64_t Broadcast(std::string_view event, const boost::json::object& data);
  // Splices a worker's runtime event (its data object as raw JSON) after the node's ids.
  uint64_t BroadcastRuntime(std::string_view event, std::string_view swarm_id,
                            std::string_view ids_json, std::string_view injection_id,
                            std::string_view worker_data);
  // Sends `event` to one client, without a seq, after the broadcasts queued before it.
  void Reply(ClientId client, std::string_view event, const boost::json::object& data);
  // Sends a line as it is (a journaled line replayed) to one client, after what is queued.
  void SendRaw(ClientId client, std::string line);
  // Sends a line to one client now, before what is queued or being written (whose seqs are all
  // above delivered_seq()): for a replay, which must come before the client's live events.
  void SendNow(ClientId client, std::string line);
  void ReplyNow(ClientId client, std::string_view event, const boost::json::object& data);
  // Hands out what is queued, then puts `client` on the live stream (ClientChannel::Join).
  // Returns the last seq handed out.
  uint64_t Join(ClientId client, HeldLines held);
  // Records that the journal holds node `node_id`'s events up to `last_seq` of `instance`;
  // written with the next Flush.
  void MarkNode(const std::string& swarm_id, int node_id, const std::string& instance,
                uint64_t last_seq);

  // Records a change to what a node owes (an injection taken, delivered, running or ended) or
  // to its counters; written with the next Flush, in the same transaction as the events queued
  // before it, so an inject_ack reaches no client before its injection is durable. The last
  // change of one injection (or one node's counters) wins.
  void RecordDelivery(DeliveryRecord record);
  void RecordCounters(NodeCounters counters);

  // Journals what is queued (one transaction), then hands it to the clients. When the store
  // fails, the emitter starts holding (see above) and calls on_journal_failed; while holding,
  // Flush does nothing. With a writer, Flush starts the write and returns; the lines go out when
  // it is done (a Flush during a write only makes sure another follows it).
  void Flush();
  bool has_pending() const { return has_queued() || writing_; }
  // Something waits for the next Flush.
  bool has_queued() const {
    return !queue_.empty() || !marks_.empty() || !deliveries_.empty() || !counters_.empty();
  }

  // True while the journal cannot be written: broadcasts and marks are held.
  bool journal_failing() const { return !journal_error_.ok(); }
  // Why the last journal write failed (Ok when not failing).
  const Status& journal_error() const { return journal_error_; }
  // Bytes of lines not yet handed to the clients, queued or being written (while failing: what
  // is held).
  std::size_t pending_bytes() const { return pending_bytes_; }
  std::size_t pending_broadcasts() const { return queue_.broadcasts.size(); }
  // Writes what is held now, inline. Ok: written and sent, holding has ended (Ok too when
  // nothing was failing). Otherwise the error, and everything stays held.
  Status RetryJournal();
  // The seq of the last broadcast handed to the clients (everything up to it is journaled).
  uint64_t delivered_seq() const { return delivered_seq_; }

  // Runs `work` off the loop and `done` on it afterwards (Executor::RunBlocking on the journal's
  // own thread). Unset: Flush writes inline.
  using Writer = std::function<void(std::function<void()> work, std::function<void()> done)>;
  void set_writer(Writer writer) { writer_ = std::move(writer); }

  // Called when queuing starts after a Flush (the owner schedules one), and after each Flush
  // with the marks it wrote.
  void set_on_pending(std::function<void()> fn) { on_pending_ = std::move(fn); }
  void set_on_flushed(std::function<void(const std::vector<NodeMark>&)> fn) {
    on_flushed_ = std::move(fn);
  }
  // Called once when a journal write fails after writes succeeded, with the store's error.
  void set_on_journal_failed(std::function<void(const Status&)> fn) {
    on_journal_failed_ = std::move(fn);
  }

  int64_t WallMillis() const { return clock_.WallMillis(); }

 private:
  // What waits for a Flush, in order: the broadcast lines back to back in `lines` (each one's
  // seq, end and swarm in `broadcasts`), and the replies to one client, each after the bytes of
  // `lines` queued before it. Lines are written straight into `lines`: no allocation per event,
  // and the whole run goes to the clients as one string.
  struct Queue {
    struct Line {
      uint64_t seq = 0;
      std::size_t end = 0;  // in `lines`
      uint32_t swarm = 0;   // index into `swarms`
    };
    struct Reply {
      ClientId to = 0;
      std::size_t after = 0;  // bytes of `lines` before it
      std::string line;
    };
    std::string lines;
    std::vector<Line> broadcasts;
    std::vector<std::string> swarms;  // the distinct swarm ids of the broadcasts ("" for none)
    std::vector<Reply> replies;

    bool empty() const { return broadcasts.empty() && replies.empty(); }
    // The index of `swarm_id` in `swarms`, added if new.
    uint32_t SwarmIndex(std::string_view swarm_id);
    // Puts `front` (older) before what is here, keeping the order of both.
    void Prepend(Queue front);
  };

  // One transaction's worth: the lines (the entries view into them) and the marks.
  struct Batch {
    Queue queue;
    std::vector<JournalEntry> entries;
    std::vector<NodeMark> marks;
    NodeChanges changes;
    Status written;
  };
  // Takes everything queued into a batch (the entries view into its lines).
  std::shared_ptr<Batch> TakeQueued();
  // After the batch's write: hands it to the clients and reports its marks, or holds it (the
  // write failed).
  void Finish(Batch& batch);
  // After a failed write: replies go out now; the batch's broadcasts, marks and node changes go
  // back in front of what was queued meanwhile.
  void Hold(Batch& batch);
  // Sends the replies of `queue` now, and forgets them.
  void SendReplies(Queue& queue);
  // Records a broadcast line just appended to queue_.lines (from `begin`).
  void Queued(uint64_t seq, std::string_view swarm_id, std::size_t begin);
  // Called before anything is queued: tells the owner when this starts a wait for a Flush, and
  // before the first broadcast line, makes room for as many as the last batch had.
  void WillQueue(bool broadcast);

  uint64_t NextSeq();
  void ReserveSeqs();
  std::string_view Timestamp();

  ClientChannel& clients_;
  Store& store_;
  const Clock& clock_;
  const uint64_t seq_block_;
  TimestampFormatter timestamps_;
  uint64_t next_seq_ = 1;
  uint64_t seq_limit_ = 1;  // next_seq_ < seq_limit_ are reserved
  uint64_t delivered_seq_ = 0;
  Queue queue_;
  // The size of the last batch: a new queue reserves as much, so a streaming turn's lines are
  // not copied again at every doubling.
  std::size_t last_lines_bytes_ = 0;
  std::size_t last_broadcasts_ = 0;
  std::map<std::pair<std::string, int>, NodeMark> marks_;
  std::map<std::tuple<std::string, int, std::string>, DeliveryRecord> deliveries_;
  std::map<std::pair<std::string, int>, NodeCounters> counters_;
  bool writing_ = false;  // a batch is being written by writer_
  Writer writer_;
  std::size_t pending_bytes_ = 0;
  Status journal_error_ = Status::Ok();
  std::function<void()> on_pending_;
  std::function<void(const std::vector<NodeMark>&)> on_flushed_;
  std::function<void(const Status&)> on_journal_failed_;
};

}  // namespace codeswarm::router
