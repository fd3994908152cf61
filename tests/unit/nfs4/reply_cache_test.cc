// The NFSv4.0 duplicate request cache: the cache alone (bounds, in progress)
// and in front of the COMPOUND loop (a retransmitted CREATE/REMOVE gets the
// first reply, not EXIST/NOENT; 4.1 and idempotent compounds are not kept).
#include "nfs4/reply_cache.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "fixture.h"
#include "nfs4/attrs.h"

namespace efs::nfs4::test {

namespace {

std::vector<uint8_t> encode_args(std::vector<nfs_argop4> ops, uint32_t minor = 0) {
  COMPOUND4args args;
  args.tag = "drc";
  args.minorversion = minor;
  args.argarray = std::move(ops);
  std::vector<uint8_t> bytes;
  xdr::Writer w(&bytes);
  encode(w, args);
  return bytes;
}

COMPOUND4res decode_res(const rpc::Reply& reply) {
  REQUIRE(reply.stat == rpc::AcceptStat::success);
  COMPOUND4res res;
  xdr::Reader r(reply.body);
  REQUIRE(decode(r, res));
  return res;
}

// A call from one client address and port with a chosen xid.
rpc::Reply send(Fixture& f, uint32_t xid, const std::vector<uint8_t>& args, uint16_t port = 900) {
  rpc::CallContext c = f.ctx;
  c.xid = xid;
  c.remote_address = "127.0.0.1";
  c.remote_port = port;
  return f.server->handle(c, args);
}

std::vector<uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

}  // namespace

TEST_CASE("ReplyCache: miss, in progress, hit; abandoned entries are forgotten") {
  ReplyCache cache;
  auto now = std::chrono::steady_clock::now();
  auto k = ReplyCache::key_of("127.0.0.1", 700, 42, 1, bytes_of("args"));
  CHECK(cache.begin(k, now).state == ReplyCache::State::miss);
  // The first transmission still runs: a retransmission must not run it again.
  CHECK(cache.begin(k, now).state == ReplyCache::State::in_progress);
  cache.finish(k, {1, 2, 3}, now);
  auto hit = cache.begin(k, now);
  CHECK(hit.state == ReplyCache::State::hit);
  CHECK(hit.reply == std::vector<uint8_t>{1, 2, 3});
  // Same xid, other arguments, other port, other address: other calls.
  CHECK(cache.begin(ReplyCache::key_of("127.0.0.1", 700, 42, 1, bytes_of("argz")), now).state ==
        ReplyCache::State::miss);
  CHECK(cache.begin(ReplyCache::key_of("127.0.0.1", 701, 42, 1, bytes_of("args")), now).state ==
        ReplyCache::State::miss);
  CHECK(cache.begin(ReplyCache::key_of("127.0.0.2", 700, 42, 1, bytes_of("args")), now).state ==
        ReplyCache::State::miss);
  auto idem = ReplyCache::key_of("127.0.0.1", 700, 43, 1, bytes_of("getattr"));
  CHECK(cache.begin(idem, now).state == ReplyCache::State::miss);
  cache.abandon(idem);
  CHECK(cache.begin(idem, now).state == ReplyCache::State::miss);
}

TEST_CASE("ReplyCache: bounded in entries, bytes and age") {
  auto now = std::chrono::steady_clock::now();
  ReplyCacheOptions o;
  o.max_entries = 3;
  o.max_bytes = 100;
  o.max_age = std::chrono::seconds(120);
  o.shards = 1;  // the bounds are exact within a shard
  ReplyCache cache(o);
  auto key = [](uint32_t xid) { return ReplyCache::key_of("127.0.0.1", 1, xid, 1, {}); };
  for (uint32_t xid = 1; xid <= 4; ++xid) {
    REQUIRE(cache.begin(key(xid), now).state == ReplyCache::State::miss);
    cache.finish(key(xid), std::vector<uint8_t>(10), now);
  }
  CHECK(cache.entries() == 3);  // the oldest went
  CHECK(cache.begin(key(1), now).state == ReplyCache::State::miss);
  cache.abandon(key(1));
  CHECK(cache.begin(key(4), now).state == ReplyCache::State::hit);
  // 10 + 10 + 10 + 85 bytes is past 100: the oldest completed entries go
  // (2 and 3) until the rest fits.
  REQUIRE(cache.begin(key(5), now).state == ReplyCache::State::miss);
  cache.finish(key(5), std::vector<uint8_t>(85), now);
  CHECK(cache.bytes() == 95);
  CHECK(cache.entries() == 2);
  CHECK(cache.begin(key(5), now).state == ReplyCache::State::hit);
  CHECK(cache.begin(key(4), now).state == ReplyCache::State::hit);
  CHECK(cache.begin(key(3), now).state == ReplyCache::State::miss);
  cache.abandon(key(3));
  // Past the age, entries are gone.
  CHECK(cache.begin(key(5), now + std::chrono::seconds(121)).state == ReplyCache::State::miss);
  CHECK(cache.entries() == 0);
}

TEST_CASE("4.0: a retransmitted CREATE or REMOVE gets the first reply, byte for byte") {
  Fixture f;
  auto root = f.fh_of({});
  auto create = encode_args({putfh(root), mkdir("once")});
  auto first = send(f, 7001, create);
  REQUIRE(decode_res(first).status == NFS4_OK);
  // The same xid from the same client: the first reply, not NFS4ERR_EXIST.
  auto again = send(f, 7001, create);
  CHECK(again.body == first.body);
  CHECK(decode_res(again).status == NFS4_OK);
  // A new xid is a new request.
  CHECK(decode_res(send(f, 7002, create)).status == NFS4ERR_EXIST);
  // The same xid from another client port is another client's call.
  CHECK(decode_res(send(f, 7001, create, 901)).status == NFS4ERR_EXIST);

  auto rm = encode_args({putfh(root), remove("once")});
  auto removed = send(f, 7003, rm);
  REQUIRE(decode_res(removed).status == NFS4_OK);
  auto rm_again = send(f, 7003, rm);
  CHECK(rm_again.body == removed.body);
  CHECK(decode_res(rm_again).status == NFS4_OK);
  CHECK(decode_res(send(f, 7004, rm)).status == NFS4ERR_NOENT);
}

TEST_CASE("4.0: a retransmission while the first transmission runs waits for its reply") {
  Fixture f;
  auto root = f.fh_of({});
  auto create = encode_args({putfh(root), mkdir("slow")});
  // The first transmission is "running": its entry is in progress.
  auto key = ReplyCache::key_of("127.0.0.1", 900, 7100, 1, create);
  REQUIRE(f.server->reply_cache().begin(key, f.clock.steady_now()).state ==
          ReplyCache::State::miss);
  std::atomic<bool> answered{false};
  rpc::Reply second;
  std::thread retransmission([&] {
    second = send(f, 7100, create);
    answered = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(!answered.load());  // neither executed nor answered yet
  // The first transmission ends: the waiting one gets exactly its reply.
  std::vector<uint8_t> first_reply = encode_args({});  // any bytes stand for it
  f.server->reply_cache().finish(key, first_reply, f.clock.steady_now());
  retransmission.join();
  CHECK(second.body == first_reply);
  // And mkdir never ran a second time: "slow" does not exist.
  CHECK(f.run({putfh(root), lookup("slow")}).status == NFS4ERR_NOENT);
}

TEST_CASE("4.0: a retransmitted SETCLIENTID gets the same client id and confirm verifier") {
  Fixture f;
  auto sc = op(OP_SETCLIENTID);
  sc.opsetclientid.client.id = bytes_of("drc-client");
  auto args = encode_args({sc});
  auto first = send(f, 8001, args);
  REQUIRE(decode_res(first).status == NFS4_OK);
  auto again = send(f, 8001, args);
  CHECK(again.body == first.body);  // executed twice, the confirm verifier would differ
}

TEST_CASE("4.0 idempotent compounds and 4.1 compounds are not kept") {
  Fixture f;
  auto root = f.fh_of({});
  auto before = f.server->reply_cache().entries();
  auto look = encode_args({putfh(root), getattr({A_type})});
  REQUIRE(decode_res(send(f, 9001, look)).status == NFS4_OK);
  CHECK(f.server->reply_cache().entries() == before);
  // 4.1 without a session: not the 4.0 cache's business (the slot table is).
  auto v41 = encode_args({putfh(root), mkdir("x")}, 1);
  CHECK(decode_res(send(f, 9002, v41)).status == NFS4ERR_OP_NOT_IN_SESSION);
  CHECK(f.server->reply_cache().entries() == before);
  // A failed non-idempotent compound is kept too: its retransmission gets the
  // same error (and not a different one from a second execution).
  auto bad = encode_args({putfh(root), remove("no-such")});
  auto r1 = send(f, 9003, bad);
  CHECK(decode_res(r1).status == NFS4ERR_NOENT);
  CHECK(f.server->reply_cache().entries() == before + 1);
}

TEST_CASE("ReplyCache: sharded, the bounds hold for the whole cache") {
  auto now = std::chrono::steady_clock::now();
  ReplyCacheOptions o;
  o.max_entries = 8;
  o.max_bytes = 1 << 20;
  o.shards = 4;
  ReplyCache cache(o);
  for (uint32_t xid = 1; xid <= 200; ++xid) {
    auto k = ReplyCache::key_of("127.0.0.1", 700, xid, 1, {});
    REQUIRE(cache.begin(k, now).state == ReplyCache::State::miss);
    cache.finish(k, std::vector<uint8_t>(10, 1), now);
  }
  CHECK(cache.entries() <= 8);
  CHECK(cache.entries() >= 4);  // each shard keeps its newest
  // The newest call is still answered from the cache, whatever its shard.
  auto last = ReplyCache::key_of("127.0.0.1", 700, 200, 1, {});
  auto hit = cache.begin(last, now);
  CHECK(hit.state == ReplyCache::State::hit);
  CHECK(hit.reply.size() == 10);
}

}  // namespace efs::nfs4::test
