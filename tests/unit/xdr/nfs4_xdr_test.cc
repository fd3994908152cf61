// NFSv4 codecs generated from src/xdr/nfs4.x, and the op-by-op COMPOUND
// decoder (xdr/nfs4_compound.h).
#include "xdr/nfs4_xdr.h"

#include <doctest/doctest.h>

#include <string>

#include "xdr/nfs4_compound.h"

using namespace efs::xdr::nfs4;
using efs::xdr::Reader;
using efs::xdr::Writer;

namespace {

std::vector<uint8_t> words(std::initializer_list<uint32_t> ws) {
  std::vector<uint8_t> out;
  Writer w(&out);
  for (uint32_t x : ws) w.u32(x);
  return out;
}

nfs_argop4 op(nfs_opnum4 n) {
  nfs_argop4 a;
  a.argop = n;
  return a;
}

stateid4 sid(uint32_t seq, uint8_t fill) {
  stateid4 s;
  s.seqid = seq;
  s.other.fill(fill);
  return s;
}

// SEQUENCE, PUTFH, OPEN (create, GUARDED4), WRITE, GETATTR.
COMPOUND4args sample_compound() {
  COMPOUND4args c;
  c.tag = "open-write";
  c.minorversion = 1;

  auto seq = op(OP_SEQUENCE);
  seq.opsequence.sa_sessionid.fill(0x5a);
  seq.opsequence.sa_sequenceid = 7;
  seq.opsequence.sa_slotid = 1;
  seq.opsequence.sa_highest_slotid = 3;
  seq.opsequence.sa_cachethis = true;
  c.argarray.push_back(std::move(seq));

  auto putfh = op(OP_PUTFH);
  putfh.opputfh.object = {1, 2, 3, 4, 5, 6, 7};
  c.argarray.push_back(std::move(putfh));

  auto open = op(OP_OPEN);
  auto& o = open.opopen;
  o.seqid = 0;
  o.share_access = OPEN4_SHARE_ACCESS_BOTH;
  o.share_deny = OPEN4_SHARE_DENY_NONE;
  o.owner.clientid = 0x1122334455667788ull;
  o.owner.owner = {'o', 'w', 'n'};
  o.openhow.opentype = OPEN4_CREATE;
  o.openhow.how.mode = GUARDED4;
  o.openhow.how.createattrs.attrmask = {0, 1u << (FATTR4_MODE - 32)};
  o.openhow.how.createattrs.attr_vals = {0, 0, 0x01, 0xa4};
  o.claim.claim = CLAIM_NULL;
  o.claim.file = "hello.txt";
  c.argarray.push_back(std::move(open));

  auto write = op(OP_WRITE);
  write.opwrite.stateid = sid(1, 0xab);
  write.opwrite.offset = 4096;
  write.opwrite.stable = FILE_SYNC4;
  write.opwrite.data = {'h', 'e', 'l', 'l', 'o'};
  c.argarray.push_back(std::move(write));

  auto getattr = op(OP_GETATTR);
  getattr.opgetattr.attr_request = {1u << FATTR4_SIZE, 0};
  c.argarray.push_back(std::move(getattr));
  return c;
}

}  // namespace

TEST_CASE("a known PUTROOTFH+GETFH COMPOUND decodes as expected") {
  // tag "ab" (length 2, padded), minorversion 0, 2 ops: 24 (PUTROOTFH), 10 (GETFH).
  std::vector<uint8_t> b = {0, 0, 0, 2, 'a', 'b', 0, 0,  0, 0, 0, 0,
                            0, 0, 0, 2, 0,   0,   0, 24, 0, 0, 0, 10};
  COMPOUND4args c;
  REQUIRE(from_bytes(b, c));
  CHECK(c.tag == "ab");
  CHECK(c.minorversion == 0);
  REQUIRE(c.argarray.size() == 2);
  CHECK(c.argarray[0].argop == OP_PUTROOTFH);
  CHECK(c.argarray[1].argop == OP_GETFH);
  CHECK(to_bytes(c) == b);

  // The reply: NFS4_OK, tag "ab", PUTROOTFH OK, GETFH OK with a 3-byte handle.
  COMPOUND4res res;
  res.status = NFS4_OK;
  res.tag = "ab";
  nfs_resop4 r1;
  r1.resop = OP_PUTROOTFH;
  res.resarray.push_back(std::move(r1));
  nfs_resop4 r2;
  r2.resop = OP_GETFH;
  r2.opgetfh.resok4.object = {9, 8, 7};
  res.resarray.push_back(std::move(r2));
  std::vector<uint8_t> want = {0, 0, 0, 0, 0, 0, 0, 2,  'a', 'b', 0, 0, 0, 0, 0, 2, 0, 0, 0, 24,
                               0, 0, 0, 0, 0, 0, 0, 10, 0,   0,   0, 0, 0, 0, 0, 3, 9, 8, 7, 0};
  CHECK(to_bytes(res) == want);
}

TEST_CASE("a COMPOUND with several ops round-trips") {
  auto c = sample_compound();
  auto b = to_bytes(c);
  COMPOUND4args back;
  REQUIRE(from_bytes(b, back));
  CHECK(back.tag == "open-write");
  CHECK(back.minorversion == 1);
  REQUIRE(back.argarray.size() == 5);
  CHECK(back.argarray[0].opsequence.sa_sequenceid == 7);
  CHECK(back.argarray[0].opsequence.sa_cachethis);
  CHECK(back.argarray[0].opsequence.sa_sessionid[15] == 0x5a);
  CHECK(back.argarray[1].opputfh.object.size() == 7);
  const auto& o = back.argarray[2].opopen;
  CHECK(o.share_access == OPEN4_SHARE_ACCESS_BOTH);
  CHECK(o.owner.clientid == 0x1122334455667788ull);
  CHECK(o.openhow.opentype == OPEN4_CREATE);
  CHECK(o.openhow.how.mode == GUARDED4);
  CHECK(o.openhow.how.createattrs.attrmask.size() == 2);
  CHECK(o.openhow.how.createattrs.attr_vals.size() == 4);
  CHECK(o.claim.claim == CLAIM_NULL);
  CHECK(o.claim.file == "hello.txt");
  CHECK(back.argarray[3].opwrite.stable == FILE_SYNC4);
  CHECK(back.argarray[3].opwrite.offset == 4096);
  CHECK(back.argarray[3].opwrite.stateid.other[11] == 0xab);
  CHECK(back.argarray[3].opwrite.data.size() == 5);
  CHECK(back.argarray[4].opgetattr.attr_request[0] == (1u << FATTR4_SIZE));
  CHECK(to_bytes(back) == b);
}

TEST_CASE("every truncation of a COMPOUND fails cleanly") {
  auto b = to_bytes(sample_compound());
  for (std::size_t n = 0; n < b.size(); ++n) {
    std::span<const uint8_t> prefix(b.data(), n);
    COMPOUND4args c;
    Reader r(prefix);
    CHECK_FALSE(decode(r, c));
    CHECK_FALSE(r.ok());
    Reader r2(prefix);
    auto d = decode_compound_args(r2);
    CHECK(d.status == NFS4ERR_BADXDR);
    CHECK(d.args.argarray.size() < 5);
  }
}

TEST_CASE("hostile counts and lengths fail without allocation") {
  // COMPOUND claiming 0xffffffff ops.
  auto b = words({0, 1, 0xffffffffu, OP_PUTROOTFH});
  COMPOUND4args c;
  CHECK_FALSE(from_bytes(b, c));
  CHECK(c.argarray.capacity() == 0);
  Reader r(b);
  auto d = decode_compound_args(r);
  CHECK(d.status == NFS4ERR_BADXDR);
  CHECK_FALSE(d.header_ok);

  // GETATTR with a bitmap of 0xffffffff words.
  GETATTR4args g;
  CHECK_FALSE(from_bytes(words({0xffffffffu, 1}), g));
  CHECK(g.attr_request.capacity() == 0);

  // WRITE data claiming 0xffffffff bytes.
  WRITE4args w;
  auto wb = to_bytes(WRITE4args{});
  wb[wb.size() - 4] = wb[wb.size() - 3] = wb[wb.size() - 2] = wb[wb.size() - 1] = 0xff;
  CHECK_FALSE(from_bytes(wb, w));
  CHECK(w.data.capacity() == 0);

  // A tag longer than the record.
  COMPOUND4args t;
  CHECK_FALSE(from_bytes(words({0x7fffffff, 0, 0}), t));
}

TEST_CASE("bounds from the RFC are enforced") {
  PUTFH4args p;
  p.object.assign(NFS4_FHSIZE, 0x11);
  CHECK(from_bytes(to_bytes(p), p));
  p.object.assign(NFS4_FHSIZE + 1, 0x11);
  PUTFH4args back;
  CHECK_FALSE(from_bytes(to_bytes(p), back));

  // eia_client_impl_id<1>: two implementation ids are refused.
  EXCHANGE_ID4args e;
  e.eia_client_impl_id.resize(2);
  EXCHANGE_ID4args eb;
  CHECK_FALSE(from_bytes(to_bytes(e), eb));
  e.eia_client_impl_id.resize(1);
  e.eia_client_impl_id[0].nii_name = "Linux";
  REQUIRE(from_bytes(to_bytes(e), eb));
  CHECK(eb.eia_client_impl_id[0].nii_name == "Linux");

  // open owner is opaque<NFS4_OPAQUE_LIMIT>.
  OPEN4args o;
  o.owner.owner.assign(NFS4_OPAQUE_LIMIT + 1, 1);
  OPEN4args ob;
  CHECK_FALSE(from_bytes(to_bytes(o), ob));
}

TEST_CASE("unions: default arms, void arms, unknown discriminants") {
  // An error result is just the status.
  OPEN4res err;
  err.status = NFS4ERR_ACCESS;
  CHECK(to_bytes(err) == words({NFS4ERR_ACCESS}));
  OPEN4res back;
  REQUIRE(from_bytes(words({NFS4ERR_NOENT}), back));
  CHECK(back.status == NFS4ERR_NOENT);

  // LOCK4res has a second non-void arm for NFS4ERR_DENIED.
  LOCK4res l;
  l.status = NFS4ERR_DENIED;
  l.denied.offset = 10;
  l.denied.length = 20;
  l.denied.locktype = WRITE_LT;
  l.denied.owner.owner = {'x'};
  LOCK4res lb;
  REQUIRE(from_bytes(to_bytes(l), lb));
  CHECK(lb.denied.length == 20);
  CHECK(lb.denied.owner.owner.size() == 1);

  // createtype4: unknown type takes the void default (handler says BADTYPE).
  createtype4 ct;
  REQUIRE(from_bytes(words({77}), ct));
  CHECK(ct.type == 77);
  // NF4LNK carries the link text.
  ct.type = NF4LNK;
  ct.linkdata = "target";
  createtype4 ctb;
  REQUIRE(from_bytes(to_bytes(ct), ctb));
  CHECK(ctb.linkdata == "target");

  // open_claim4 has no default: claim 9 does not decode.
  open_claim4 oc;
  CHECK_FALSE(from_bytes(words({9}), oc));
  CHECK(from_bytes(words({CLAIM_FH}), oc));

  // locker4 switches on a bool: 2 is not a bool.
  locker4 lk;
  CHECK_FALSE(from_bytes(words({2}), lk));
  lk.new_lock_owner = false;
  lk.lock_owner.lock_stateid = sid(3, 1);
  lk.lock_owner.lock_seqid = 4;
  locker4 lkb;
  REQUIRE(from_bytes(to_bytes(lk), lkb));
  CHECK(lkb.lock_owner.lock_seqid == 4);

  // settime4: SET_TO_SERVER_TIME4 is the void default.
  settime4 st;
  REQUIRE(from_bytes(words({SET_TO_SERVER_TIME4}), st));
  st.set_it = SET_TO_CLIENT_TIME4;
  st.time.seconds = -5;
  st.time.nseconds = 999;
  settime4 stb;
  REQUIRE(from_bytes(to_bytes(st), stb));
  CHECK(stb.time.seconds == -5);

  // An unknown op number in nfs_argop4 (no default arm) fails decode.
  nfs_argop4 a;
  CHECK_FALSE(from_bytes(words({99}), a));

  // Unknown enum values are accepted.
  fattr4_type ft;
  REQUIRE(from_bytes(words({1234}), ft));
  CHECK(ft == 1234);
}

TEST_CASE("READDIR results: optional data and entry4 lists") {
  READDIR4res res;
  res.status = NFS4_OK;
  res.resok4.cookieverf.fill(3);
  res.resok4.reply.eof = true;
  // Empty directory: no entries.
  READDIR4res back;
  REQUIRE(from_bytes(to_bytes(res), back));
  CHECK_FALSE(back.resok4.reply.entries);
  CHECK(back.resok4.reply.eof);

  // Three entries, built front to back.
  std::unique_ptr<entry4>* link = &res.resok4.reply.entries;
  for (int i = 0; i < 3; ++i) {
    *link = std::make_unique<entry4>();
    (*link)->cookie = 100 + i;
    (*link)->name = "file" + std::to_string(i);
    (*link)->attrs.attrmask = {1u << FATTR4_TYPE};
    (*link)->attrs.attr_vals = {0, 0, 0, NF4REG};
    link = &(*link)->nextentry;
  }
  auto b = to_bytes(res);
  REQUIRE(from_bytes(b, back));
  int n = 0;
  for (const entry4* e = back.resok4.reply.entries.get(); e; e = e->nextentry.get(), ++n) {
    CHECK(e->cookie == uint64_t(100 + n));
    CHECK(e->name == "file" + std::to_string(n));
  }
  CHECK(n == 3);
  CHECK(to_bytes(back) == b);

  // A long list (more than a recursive decoder's stack would survive).
  READDIR4res big;
  big.resok4.reply.eof = false;
  link = &big.resok4.reply.entries;
  for (int i = 0; i < 300000; ++i) {
    *link = std::make_unique<entry4>();
    (*link)->cookie = i;
    link = &(*link)->nextentry;
  }
  READDIR4res bigback;
  REQUIRE(from_bytes(to_bytes(big), bigback));
  CHECK(bigback.resok4.reply.entries->nextentry->cookie == 1);
}

TEST_CASE("decode_compound_args stops at the first bad op") {
  // PUTROOTFH, GETFH, op 99 (not an NFSv4 op), then garbage.
  auto b = words({0, 1, 4, OP_PUTROOTFH, OP_GETFH, 99, 0xdeadbeef});
  Reader r(b);
  auto d = decode_compound_args(r);
  CHECK(d.status == NFS4ERR_OP_ILLEGAL);
  CHECK(d.header_ok);
  CHECK(d.op_count == 4);
  CHECK(d.stop_opcode == 99);
  REQUIRE(d.args.argarray.size() == 2);
  CHECK(d.args.argarray[1].argop == OP_GETFH);

  // LOOKUP whose name length runs past the record: BADXDR at op 1.
  auto b2 = words({0, 0, 2, OP_PUTROOTFH, OP_LOOKUP, 500});
  Reader r2(b2);
  auto d2 = decode_compound_args(r2);
  CHECK(d2.status == NFS4ERR_BADXDR);
  CHECK(d2.stop_opcode == OP_LOOKUP);
  CHECK(d2.args.argarray.size() == 1);

  // Too many ops for the caller's limit.
  auto b3 = words({0, 1, 3, OP_PUTROOTFH, OP_GETFH, OP_GETFH});
  Reader r3(b3);
  auto d3 = decode_compound_args(r3, 2);
  CHECK(d3.status == NFS4ERR_TOO_MANY_OPS);
  CHECK(d3.args.argarray.empty());

  // A good request, with trailing bytes reported.
  auto b4 = words({0, 1, 1, OP_PUTROOTFH, 0});
  Reader r4(b4);
  auto d4 = decode_compound_args(r4);
  CHECK(d4.status == NFS4_OK);
  CHECK(d4.args.argarray.size() == 1);
  CHECK(d4.trailing_bytes == 4);

  // The client sending OP_ILLEGAL itself decodes; the handler refuses it.
  auto b5 = words({0, 1, 1, OP_ILLEGAL});
  Reader r5(b5);
  CHECK(decode_compound_args(r5).status == NFS4_OK);
}

TEST_CASE("enum names for logs") {
  CHECK(std::string(to_string(OP_PUTROOTFH)) == "OP_PUTROOTFH");
  CHECK(std::string(to_string(OP_ILLEGAL)) == "OP_ILLEGAL");
  CHECK(std::string(to_string(NFS4ERR_BADXDR)) == "NFS4ERR_BADXDR");
  CHECK(std::string(to_string(NFS4ERR_DELEG_REVOKED)) == "NFS4ERR_DELEG_REVOKED");
  CHECK(std::string(to_string(static_cast<nfsstat4>(12345))) == "?");
  CHECK(std::string(to_string(static_cast<nfs_opnum4>(2))) == "?");
}

TEST_CASE("a COMPOUND reply with session and open results round-trips") {
  COMPOUND4res res;
  res.status = NFS4_OK;
  res.tag = "t";

  nfs_resop4 seq;
  seq.resop = OP_SEQUENCE;
  seq.opsequence.sr_resok4.sr_sessionid.fill(0x42);
  seq.opsequence.sr_resok4.sr_sequenceid = 9;
  seq.opsequence.sr_resok4.sr_target_highest_slotid = 63;
  seq.opsequence.sr_resok4.sr_status_flags = SEQ4_STATUS_RESTART_RECLAIM_NEEDED;
  res.resarray.push_back(std::move(seq));

  nfs_resop4 open;
  open.resop = OP_OPEN;
  auto& ok = open.opopen.resok4;
  ok.stateid = sid(1, 0x77);
  ok.cinfo.atomic = true;
  ok.cinfo.before = 1;
  ok.cinfo.after = 2;
  ok.rflags = OPEN4_RESULT_LOCKTYPE_POSIX;
  ok.attrset = {1u << FATTR4_SIZE};
  ok.delegation.delegation_type = OPEN_DELEGATE_NONE_EXT;
  ok.delegation.od_whynone.ond_why = WND4_CONTENTION;
  ok.delegation.od_whynone.ond_server_will_push_deleg = true;
  res.resarray.push_back(std::move(open));

  nfs_resop4 read;
  read.resop = OP_READ;
  read.opread.resok4.eof = true;
  read.opread.resok4.data = {1, 2, 3, 4, 5, 6};
  res.resarray.push_back(std::move(read));

  nfs_resop4 exch;
  exch.resop = OP_EXCHANGE_ID;
  auto& e = exch.opexchange_id.eir_resok4;
  e.eir_clientid = 0xabcdef;
  e.eir_flags = EXCHGID4_FLAG_USE_NON_PNFS | EXCHGID4_FLAG_CONFIRMED_R;
  e.eir_state_protect.spr_how = SP4_NONE;
  e.eir_server_owner.so_major_id = {'e', 'f', 's'};
  e.eir_server_scope = {'s'};
  res.resarray.push_back(std::move(exch));

  nfs_resop4 bad;
  bad.resop = OP_ILLEGAL;
  bad.opillegal.status = NFS4ERR_OP_ILLEGAL;
  res.resarray.push_back(std::move(bad));
  res.status = NFS4ERR_OP_ILLEGAL;

  auto b = to_bytes(res);
  COMPOUND4res back;
  REQUIRE(from_bytes(b, back));
  REQUIRE(back.resarray.size() == 5);
  CHECK(back.status == NFS4ERR_OP_ILLEGAL);
  CHECK(back.resarray[0].opsequence.sr_resok4.sr_target_highest_slotid == 63);
  const auto& ob = back.resarray[1].opopen.resok4;
  CHECK(ob.stateid.other[0] == 0x77);
  CHECK(ob.cinfo.after == 2);
  CHECK(ob.delegation.delegation_type == OPEN_DELEGATE_NONE_EXT);
  CHECK(ob.delegation.od_whynone.ond_server_will_push_deleg);
  CHECK(back.resarray[2].opread.resok4.data.size() == 6);
  CHECK(back.resarray[3].opexchange_id.eir_resok4.eir_server_owner.so_major_id.size() == 3);
  CHECK(back.resarray[4].opillegal.status == NFS4ERR_OP_ILLEGAL);
  CHECK(to_bytes(back) == b);
}

TEST_CASE("mutated requests never crash, and what decodes re-encodes stably") {
  auto good = to_bytes(sample_compound());
  uint64_t x = 0x9e3779b97f4a7c15ull;  // xorshift: deterministic, no <random> seeding
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  int decoded = 0;
  for (int round = 0; round < 3000; ++round) {
    auto b = good;
    int flips = 1 + int(next() % 4);
    for (int i = 0; i < flips; ++i) {
      std::size_t at = next() % b.size();
      // Half the time write a hostile word, else flip a byte.
      if (next() % 2 && at + 4 <= b.size()) {
        b[at] = b[at + 1] = b[at + 2] = b[at + 3] = 0xff;
      } else {
        b[at] ^= uint8_t(1u << (next() % 8));
      }
    }
    if (next() % 4 == 0) b.resize(next() % b.size());
    COMPOUND4args c;
    Reader r(b);
    if (!decode(r, c)) continue;
    ++decoded;
    // Re-encoding what was decoded gives bytes that decode to the same bytes.
    auto again = to_bytes(c);
    COMPOUND4args c2;
    REQUIRE(from_bytes(again, c2));
    CHECK(to_bytes(c2) == again);
    Reader r2(b);
    auto d = decode_compound_args(r2);
    CHECK(d.status == NFS4_OK);
    CHECK(d.args.argarray.size() == c.argarray.size());
  }
  CHECK(decoded > 0);  // some mutations land in data and still decode
}
