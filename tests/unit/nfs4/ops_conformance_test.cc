// Op-level answers as RFC 7530 / RFC 8881 (and the pynfs suites built on them)
// expect: the caller's credentials on READ and WRITE, READDIR TOOSMALL,
// write-only attributes, wrong object types per minor version, ACCESS's
// `supported`, and OPEN's create modes on an existing file.
#include <doctest/doctest.h>

#include "fixture.h"
#include "nfs4/attrs.h"

namespace efs::nfs4::test {

namespace {

std::vector<uint8_t> bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

// A fattr4 of the settable attributes the tests need (in attribute order).
fattr4 attrs(std::optional<uint64_t> size, std::optional<uint32_t> mode,
             std::optional<uint32_t> owner = std::nullopt) {
  fattr4 f;
  xdr::Writer w(&f.attr_vals);
  if (size) {
    bitmap_set(f.attrmask, A_size);
    w.u64(*size);
  }
  if (mode) {
    bitmap_set(f.attrmask, A_mode);
    w.u32(*mode);
  }
  if (owner) {
    bitmap_set(f.attrmask, A_owner);
    w.string(std::to_string(*owner));
  }
  return f;
}

nfs_argop4 open_op(uint64_t clientid, const std::string& owner, uint32_t seqid,
                   const std::string& name, createmode4 how, fattr4 createattrs = {},
                   uint32_t access = OPEN4_SHARE_ACCESS_BOTH) {
  auto a = op(OP_OPEN);
  a.opopen.seqid = seqid;
  a.opopen.share_access = access;
  a.opopen.share_deny = OPEN4_SHARE_DENY_NONE;
  a.opopen.owner.clientid = clientid;
  a.opopen.owner.owner = bytes(owner);
  a.opopen.openhow.opentype = OPEN4_CREATE;
  a.opopen.openhow.how.mode = how;
  if (how == EXCLUSIVE4) {
    for (std::size_t i = 0; i < a.opopen.openhow.how.createverf.size(); ++i)
      a.opopen.openhow.how.createverf[i] = static_cast<uint8_t>(i + 1);
  } else {
    a.opopen.openhow.how.createattrs = std::move(createattrs);
  }
  a.opopen.claim.claim = CLAIM_NULL;
  a.opopen.claim.file = name;
  return a;
}

nfs_argop4 open_existing(uint64_t clientid, const std::string& owner, uint32_t seqid,
                         const std::string& name) {
  auto a = open_op(clientid, owner, seqid, name, UNCHECKED4);
  a.opopen.openhow.opentype = OPEN4_NOCREATE;
  return a;
}

nfs_argop4 with_stateid(nfs_argop4 a, const stateid4& s) {
  if (a.argop == OP_WRITE) a.opwrite.stateid = s;
  if (a.argop == OP_READ) a.opread.stateid = s;
  return a;
}

nfs_argop4 lockt() {
  auto a = op(OP_LOCKT);
  a.oplockt.locktype = WRITE_LT;
  a.oplockt.offset = 0;
  a.oplockt.length = 1;
  return a;
}

// A confirmed 4.0 client whose opens are numbered by owner seqids.
struct Client40 : Fixture {
  uint64_t clientid = 0;
  uint32_t seqid = 1;
  Client40() {
    auto sc = op(OP_SETCLIENTID);
    sc.opsetclientid.client.id = bytes("conformance-client");
    auto r = run({sc});
    REQUIRE(r.status == NFS4_OK);
    clientid = r.resarray[0].opsetclientid.resok4.clientid;
    auto cf = op(OP_SETCLIENTID_CONFIRM);
    cf.opsetclientid_confirm.clientid = clientid;
    cf.opsetclientid_confirm.setclientid_confirm =
        r.resarray[0].opsetclientid.resok4.setclientid_confirm;
    REQUIRE(run({cf}).status == NFS4_OK);
  }
  // OPEN (+ OPEN_CONFIRM) in the root: the file's handle and open stateid.
  std::pair<nfs_fh4, stateid4> open_confirmed(nfs_argop4 open) {
    open.opopen.seqid = seqid++;
    auto r = run({putfh(fh_of({})), open, getfh()});
    REQUIRE(r.status == NFS4_OK);
    nfs_fh4 fh = r.resarray[2].opgetfh.resok4.object;
    stateid4 sid = r.resarray[1].opopen.resok4.stateid;
    if (r.resarray[1].opopen.resok4.rflags & OPEN4_RESULT_CONFIRM) {
      auto conf = op(OP_OPEN_CONFIRM);
      conf.opopen_confirm.open_stateid = sid;
      conf.opopen_confirm.seqid = seqid++;
      auto rc = run({putfh(fh), conf});
      REQUIRE(rc.status == NFS4_OK);
      sid = rc.resarray[1].opopen_confirm.resok4.open_stateid;
    }
    return {fh, sid};
  }
  void as_uid(uint32_t uid, uint32_t gid = 100) {
    ctx.auth_sys->uid = uid;
    ctx.auth_sys->gid = gid;
  }
};

// A 4.1 client with one session (slot 0).
struct Client41 : Fixture {
  sessionid4 sid{};
  uint32_t seq = 0;
  Client41() {
    auto ex = op(OP_EXCHANGE_ID);
    ex.opexchange_id.eia_clientowner.co_ownerid = bytes("conformance-41");
    ex.opexchange_id.eia_state_protect.spa_how = SP4_NONE;
    auto r1 = run({ex}, 1);
    REQUIRE(r1.status == NFS4_OK);
    const auto& ok = r1.resarray[0].opexchange_id.eir_resok4;
    auto cs = op(OP_CREATE_SESSION);
    cs.opcreate_session.csa_clientid = ok.eir_clientid;
    cs.opcreate_session.csa_sequence = ok.eir_sequenceid;
    auto& fore = cs.opcreate_session.csa_fore_chan_attrs;
    fore.ca_maxrequestsize = 1 << 20;
    fore.ca_maxresponsesize = 1 << 20;
    fore.ca_maxresponsesize_cached = 4096;
    fore.ca_maxoperations = 16;
    fore.ca_maxrequests = 1;
    cs.opcreate_session.csa_back_chan_attrs = fore;
    auto r2 = run({cs}, 1);
    REQUIRE(r2.status == NFS4_OK);
    sid = r2.resarray[0].opcreate_session.csr_resok4.csr_sessionid;
    // RFC 8881 18.51.3: no new OPEN or LOCK before RECLAIM_COMPLETE.
    auto rc = op(OP_RECLAIM_COMPLETE);
    rc.opreclaim_complete.rca_one_fs = false;
    REQUIRE(run41({rc}).status == NFS4_OK);
  }
  COMPOUND4res run41(std::vector<nfs_argop4> ops) {
    auto s = op(OP_SEQUENCE);
    s.opsequence.sa_sessionid = sid;
    s.opsequence.sa_sequenceid = ++seq;
    ops.insert(ops.begin(), s);
    return run(std::move(ops), 1);
  }
};

uint64_t size_of(Fixture& f, const nfs_fh4& fh) {
  auto r = f.run({putfh(fh), getattr({A_size})});
  REQUIRE(r.status == NFS4_OK);
  xdr::Reader rd(r.resarray[1].opgetattr.resok4.obj_attributes.attr_vals);
  return rd.u64();
}

uint32_t mode_of(Fixture& f, const nfs_fh4& fh) {
  auto r = f.run({putfh(fh), getattr({A_mode})});
  REQUIRE(r.status == NFS4_OK);
  xdr::Reader rd(r.resarray[1].opgetattr.resok4.obj_attributes.attr_vals);
  return rd.u32();
}

}  // namespace

TEST_CASE("WRITE and READ under someone else's open stateid are refused by the file's mode") {
  Client40 f;
  // Root opens and creates a 0600 file owned by uid 1000 (pynfs RD12's setup).
  auto [fh, sid] = f.open_confirmed(
      open_op(f.clientid, "o1", 0, "private", UNCHECKED4, attrs(std::nullopt, 0600, 1000)));
  f.as_uid(1000);
  CHECK(f.run({putfh(fh), with_stateid(write(0, "mine"), sid)}).status == NFS4_OK);
  CHECK(f.run({putfh(fh), with_stateid(read(0, 4), sid)}).status == NFS4_OK);

  f.as_uid(2000);
  CHECK(f.run({putfh(fh), with_stateid(write(0, "theirs"), sid)}).status == NFS4ERR_ACCESS);
  CHECK(f.run({putfh(fh), with_stateid(read(0, 4), sid)}).status == NFS4ERR_ACCESS);
  // The special stateids keep their own rule (a mode check, no open).
  CHECK(f.run({putfh(fh), read(0, 4)}).status == NFS4ERR_ACCESS);

  // The owner passes whatever the mode says (an fchmod(fd, 0200) after open).
  f.as_uid(1000);
  REQUIRE(f.run({putfh(fh), setattr(attrs(std::nullopt, 0200))}).status == NFS4_OK);
  auto rd = f.run({putfh(fh), with_stateid(read(0, 4), sid)});
  REQUIRE(rd.status == NFS4_OK);
  CHECK(std::string(rd.resarray[1].opread.resok4.data.begin(),
                    rd.resarray[1].opread.resok4.data.end()) == "mine");

  // Execute permission is enough to READ (paging in a --x binary); not to WRITE.
  REQUIRE(f.run({putfh(fh), setattr(attrs(std::nullopt, 0711))}).status == NFS4_OK);
  f.as_uid(2000);
  CHECK(f.run({putfh(fh), with_stateid(read(0, 4), sid)}).status == NFS4_OK);
  CHECK(f.run({putfh(fh), with_stateid(write(0, "x"), sid)}).status == NFS4ERR_ACCESS);
  // Group write permission lets a group member write.
  f.as_uid(1000);
  REQUIRE(f.run({putfh(fh), setattr(attrs(std::nullopt, 0620))}).status == NFS4_OK);
  auto gid = f.run({putfh(fh), getattr({A_owner_group})});
  REQUIRE(gid.status == NFS4_OK);
  xdr::Reader g(gid.resarray[1].opgetattr.resok4.obj_attributes.attr_vals);
  uint32_t file_gid = static_cast<uint32_t>(std::stoul(g.string(16)));
  f.as_uid(2000, file_gid);
  CHECK(f.run({putfh(fh), with_stateid(write(0, "g"), sid)}).status == NFS4_OK);
  CHECK(f.run({putfh(fh), with_stateid(read(0, 1), sid)}).status == NFS4ERR_ACCESS);
}

TEST_CASE("READDIR: a maxcount below an empty reply is TOOSMALL; write-only attrs are INVAL") {
  Fixture f;
  auto root = f.fh_of({});
  REQUIRE(f.run({putfh(root), mkdir("empty")}).status == NFS4_OK);
  auto empty = f.fh_of({"empty"});
  // pynfs RDDR8: 16 bytes hold verifier, "no entry" and eof; 15 do not.
  CHECK(f.run({putfh(empty), readdir(0, {}, 15)}).status == NFS4ERR_TOOSMALL);
  CHECK(f.run({putfh(empty), readdir(0, {}, 16)}).status == NFS4_OK);
  // pynfs RDDR7: maxcount 0.
  CHECK(f.run({putfh(root), readdir(0, {}, 0)}).status == NFS4ERR_TOOSMALL);
  CHECK(f.run({putrootfh(), readdir(0, {}, 0)}).status == NFS4ERR_TOOSMALL);
  // A maxcount that holds the header but not the first entry.
  CHECK(f.run({putfh(root), readdir(0, {}, 20)}).status == NFS4ERR_TOOSMALL);
  CHECK(f.run({putfh(root), readdir(0, {}, 4096, {A_time_modify_set})}).status == NFS4ERR_INVAL);
  CHECK(f.run({putfh(root), readdir(0, {}, 4096, {A_type, A_time_access_set})}).status ==
        NFS4ERR_INVAL);
  // Not a directory: NOTDIR before any argument check.
  f.make_file("f", "x");
  CHECK(f.run({putfh(f.fh_of({"f"})), readdir(0, {}, 0)}).status == NFS4ERR_NOTDIR);
}

TEST_CASE("GETATTR of a write-only attribute is INVAL; unknown attributes are left out") {
  Fixture f;
  auto root = f.fh_of({});
  CHECK(f.run({putfh(root), getattr({A_size, A_time_access_set})}).status == NFS4ERR_INVAL);
  CHECK(f.run({putfh(root), getattr({A_time_modify_set})}).status == NFS4ERR_INVAL);
  CHECK(f.run({putrootfh(), getattr({A_time_modify_set})}).status == NFS4ERR_INVAL);
  CHECK(f.run({getattr({A_size})}).status == NFS4ERR_NOFILEHANDLE);
  auto r = f.run({putfh(root), getattr({1000})});
  REQUIRE(r.status == NFS4_OK);
  CHECK(r.resarray[1].opgetattr.resok4.obj_attributes.attr_vals.empty());
}

TEST_CASE("READLINK of anything but a symlink: INVAL in 4.0, WRONG_TYPE in 4.1") {
  Client41 f;
  f.make_file("file", "x");
  auto root = f.fh_of({});
  CHECK(f.run({putfh(root), readlink()}).status == NFS4ERR_INVAL);
  CHECK(f.run({putrootfh(), readlink()}).status == NFS4ERR_INVAL);
  CHECK(f.run({putfh(f.fh_of({"file"})), readlink()}).status == NFS4ERR_INVAL);
  CHECK(last_status(f.run41({putfh(root), readlink()})) == NFS4ERR_WRONG_TYPE);
  CHECK(last_status(f.run41({putfh(f.fh_of({"file"})), readlink()})) == NFS4ERR_WRONG_TYPE);
}

TEST_CASE("READ, WRITE, LOCKT on a symlink or directory answer per minor version") {
  Client41 f;
  auto root = f.fh_of({});
  REQUIRE(f.run({putfh(root), symlink("link", "target")}).status == NFS4_OK);
  auto link = f.fh_of({"link"});
  // 4.0 (RFC 7530 16.23.5, 16.36.5, 16.11.5): ISDIR for a directory, else INVAL.
  CHECK(f.run({putfh(link), read(0, 1)}).status == NFS4ERR_INVAL);
  CHECK(f.run({putfh(link), write(0, "x")}).status == NFS4ERR_INVAL);
  CHECK(f.run({putfh(link), lockt()}).status == NFS4ERR_INVAL);
  CHECK(f.run({putfh(root), lockt()}).status == NFS4ERR_ISDIR);
  CHECK(f.run({putrootfh(), lockt()}).status == NFS4ERR_ISDIR);
  CHECK(f.run({lockt()}).status == NFS4ERR_NOFILEHANDLE);
  // 4.1 (RFC 8881 18.22.3, 18.32.3, 18.11.3): SYMLINK for a symbolic link.
  CHECK(last_status(f.run41({putfh(link), read(0, 1)})) == NFS4ERR_SYMLINK);
  CHECK(last_status(f.run41({putfh(link), write(0, "x")})) == NFS4ERR_SYMLINK);
  CHECK(last_status(f.run41({putfh(link), lockt()})) == NFS4ERR_SYMLINK);
  CHECK(last_status(f.run41({putfh(root), lockt()})) == NFS4ERR_ISDIR);
}

TEST_CASE("ACCESS: supported holds only the bits meaningful for the object's type") {
  Fixture f;
  f.make_file("file", "x");
  constexpr uint32_t all = 0x3f;
  auto dir = f.run({putfh(f.fh_of({})), access(all)});
  REQUIRE(dir.status == NFS4_OK);
  // pynfs ACC2d: no EXECUTE for a directory.
  CHECK(dir.resarray[1].opaccess.resok4.supported == (all & ~vfs::kAccessExecute));
  CHECK((dir.resarray[1].opaccess.resok4.access & ~dir.resarray[1].opaccess.resok4.supported) == 0);
  auto file = f.run({putfh(f.fh_of({"file"})), access(all)});
  REQUIRE(file.status == NFS4_OK);
  // pynfs ACC2r: no LOOKUP or DELETE for a non-directory.
  CHECK(file.resarray[1].opaccess.resok4.supported ==
        (all & ~(vfs::kAccessLookup | vfs::kAccessDelete)));
  CHECK(file.resarray[1].opaccess.resok4.access ==
        (vfs::kAccessRead | vfs::kAccessModify | vfs::kAccessExtend));  // root, mode 0644
  auto pseudo = f.run({putrootfh(), access(all)});
  REQUIRE(pseudo.status == NFS4_OK);
  CHECK(pseudo.resarray[1].opaccess.resok4.supported == (all & ~vfs::kAccessExecute));
  CHECK(pseudo.resarray[1].opaccess.resok4.access == (vfs::kAccessRead | vfs::kAccessLookup));
  // Only what was asked is answered.
  auto one = f.run({putfh(f.fh_of({"file"})), access(vfs::kAccessLookup)});
  REQUIRE(one.status == NFS4_OK);
  CHECK(one.resarray[1].opaccess.resok4.supported == 0);
  CHECK(one.resarray[1].opaccess.resok4.access == 0);
  CHECK(f.run({putrootfh(), access(0x40)}).status == NFS4ERR_INVAL);
}

TEST_CASE("OPEN UNCHECKED4 on an existing file ignores createattrs except a zero size") {
  Client40 f;
  auto [fh, sid] = f.open_confirmed(open_op(f.clientid, "o", 0, "u", UNCHECKED4, attrs(32, 0644)));
  CHECK(size_of(f, fh) == 32);
  CHECK(mode_of(f, fh) == 0644);
  // pynfs OPEN2: a second create with other attributes changes nothing...
  auto again = f.run(
      {putfh(f.fh_of({})), open_op(f.clientid, "o", f.seqid++, "u", UNCHECKED4, attrs(16, 0600))});
  REQUIRE(again.status == NFS4_OK);
  CHECK(again.resarray[1].opopen.resok4.attrset.empty());
  CHECK(size_of(f, fh) == 32);
  CHECK(mode_of(f, fh) == 0644);
  // ...but a size of zero truncates, and attrset says so.
  auto trunc = f.run(
      {putfh(f.fh_of({})), open_op(f.clientid, "o", f.seqid++, "u", UNCHECKED4, attrs(0, 0600))});
  REQUIRE(trunc.status == NFS4_OK);
  CHECK(trunc.resarray[1].opopen.resok4.attrset == bits({A_size}));
  CHECK(size_of(f, fh) == 0);
  CHECK(mode_of(f, fh) == 0644);
}

TEST_CASE("OPEN GUARDED4 and EXCLUSIVE4 on an existing file; OPEN of a non-file") {
  Client40 f;
  auto [fh, sid] = f.open_confirmed(open_op(f.clientid, "o", 0, "g", GUARDED4));
  (void)sid;
  auto root = f.fh_of({});
  CHECK(f.run({putfh(root), open_op(f.clientid, "o", f.seqid++, "g", GUARDED4)}).status ==
        NFS4ERR_EXIST);
  // EXCLUSIVE4: the same verifier finds the same file; a plain file is EXIST.
  auto [xfh, xsid] = f.open_confirmed(open_op(f.clientid, "o", 0, "x", EXCLUSIVE4));
  (void)xsid;
  auto x2 = f.run({putfh(root), open_op(f.clientid, "o", f.seqid++, "x", EXCLUSIVE4), getfh()});
  REQUIRE(x2.status == NFS4_OK);
  CHECK(x2.resarray[2].opgetfh.resok4.object == xfh);
  CHECK(f.run({putfh(root), open_op(f.clientid, "o", f.seqid++, "g", EXCLUSIVE4)}).status ==
        NFS4ERR_EXIST);

  REQUIRE(f.run({putfh(root), symlink("ln", "g"), putfh(root), mkdir("d")}).status == NFS4_OK);
  CHECK(f.run({putfh(root), open_existing(f.clientid, "o", f.seqid++, "ln")}).status ==
        NFS4ERR_SYMLINK);
  CHECK(f.run({putfh(root), open_existing(f.clientid, "o", f.seqid++, "d")}).status ==
        NFS4ERR_ISDIR);
  CHECK(f.run({putfh(root), open_op(f.clientid, "o", f.seqid++, "ln", UNCHECKED4)}).status ==
        NFS4ERR_SYMLINK);
  CHECK(f.run({putfh(root), open_op(f.clientid, "o", f.seqid++, "d", UNCHECKED4)}).status ==
        NFS4ERR_ISDIR);
  CHECK(f.run({putfh(fh), open_existing(f.clientid, "o", f.seqid++, "x")}).status ==
        NFS4ERR_NOTDIR);
  CHECK(f.run({putfh(root), open_existing(f.clientid, "o", f.seqid++, "")}).status ==
        NFS4ERR_INVAL);
}

}  // namespace efs::nfs4::test

namespace efs::nfs4::test {

TEST_CASE("LOOKUPP of any non-directory is NOTDIR, a symlink included") {
  Fixture f;
  f.make_file("file", "x");
  auto root = f.fh_of({});
  REQUIRE(f.run({putfh(root), symlink("link", "file")}).status == NFS4_OK);
  // pynfs LOOKP2a / LOOKP2r (RFC 7530 16.15.5).
  CHECK(f.run({putfh(f.fh_of({"link"})), lookupp()}).status == NFS4ERR_NOTDIR);
  CHECK(f.run({putfh(f.fh_of({"file"})), lookupp()}).status == NFS4ERR_NOTDIR);
  // LOOKUP through a symlink stays SYMLINK (RFC 8881 18.13.3).
  CHECK(f.run({putfh(f.fh_of({"link"})), lookup("x")}).status == NFS4ERR_SYMLINK);
}

TEST_CASE(
    "4.1 OPEN EXCLUSIVE4_1: attributes at creation, same verifier reopens, another is EXIST") {
  Client41 f;
  auto excl = [&](uint8_t verf_byte) {
    auto a = open_op(0, "o41", 0, "ex", EXCLUSIVE4_1);
    a.opopen.openhow.how.mode = EXCLUSIVE4_1;
    a.opopen.openhow.how.ch_createboth.cva_verf.fill(verf_byte);
    a.opopen.openhow.how.ch_createboth.cva_attrs = attrs(std::nullopt, 0640);
    return a;
  };
  auto root = f.fh_of({});
  auto r1 = f.run41({putfh(root), excl(7), getfh()});
  REQUIRE(r1.status == NFS4_OK);
  CHECK(r1.resarray[2].opopen.resok4.attrset == bits({A_mode}));
  nfs_fh4 fh = r1.resarray[3].opgetfh.resok4.object;
  CHECK(mode_of(f, fh) == 0640);
  auto r2 = f.run41({putfh(root), excl(7), getfh()});
  REQUIRE(r2.status == NFS4_OK);
  CHECK(r2.resarray[3].opgetfh.resok4.object == fh);
  CHECK(last_status(f.run41({putfh(root), excl(9)})) == NFS4ERR_EXIST);
}

}  // namespace efs::nfs4::test

namespace efs::nfs4::test {

TEST_CASE("OPEN in the pseudo-root: a junction is ISDIR, a missing name NOENT, create ROFS") {
  Client40 f;
  CHECK(f.run({putrootfh(), open_existing(f.clientid, "p", f.seqid++, f.fs_id)}).status ==
        NFS4ERR_ISDIR);
  CHECK(f.run({putrootfh(), open_existing(f.clientid, "p", f.seqid++, "fs-nothere")}).status ==
        NFS4ERR_NOENT);
  CHECK(f.run({putrootfh(), open_op(f.clientid, "p", f.seqid++, "new", UNCHECKED4)}).status ==
        NFS4ERR_ROFS);
}

}  // namespace efs::nfs4::test

namespace efs::nfs4::test {

TEST_CASE("OPEN for READ of an execute-only file is allowed (exec of a --x binary); WRITE is not") {
  Client40 f;
  auto [fh, sid] = f.open_confirmed(
      open_op(f.clientid, "o", 0, "bin", UNCHECKED4, attrs(std::nullopt, 0711, 1000)));
  (void)fh;
  (void)sid;
  f.as_uid(2000);
  auto rd = open_existing(f.clientid, "o", f.seqid++, "bin");
  rd.opopen.share_access = OPEN4_SHARE_ACCESS_READ;
  CHECK(f.run({putfh(f.fh_of({})), rd}).status == NFS4_OK);
  auto wr = open_existing(f.clientid, "o", f.seqid++, "bin");
  wr.opopen.share_access = OPEN4_SHARE_ACCESS_WRITE;
  CHECK(f.run({putfh(f.fh_of({})), wr}).status == NFS4ERR_ACCESS);
  // Without any x bit for others, READ needs the r bit.
  f.as_uid(1000);
  REQUIRE(f.run({putfh(f.fh_of({"bin"})), setattr(attrs(std::nullopt, 0700))}).status == NFS4_OK);
  f.as_uid(2000);
  auto rd2 = open_existing(f.clientid, "o", f.seqid++, "bin");
  rd2.opopen.share_access = OPEN4_SHARE_ACCESS_READ;
  CHECK(f.run({putfh(f.fh_of({})), rd2}).status == NFS4ERR_ACCESS);
}

}  // namespace efs::nfs4::test
