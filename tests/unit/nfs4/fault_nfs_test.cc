// Host faults seen through NFS: the vfs's chunk store runs on the fixture's
// FaultDisk (docs/crash-consistency.md).
#include <doctest/doctest.h>

#include <cerrno>

#include "fixture.h"

using namespace efs::nfs4::test;
using Op = efs::FaultDisk::Op;

TEST_CASE("WRITE FILE_SYNC whose fdatasync fails answers NFS4ERR_IO, and so does a later COMMIT") {
  Fixture f;
  f.make_file("data", "old");
  auto fh = f.fh_of({"data"});
  f.disk.fail_nth(Op::fdatasync, 1, EIO);
  auto w = f.run({putfh(fh), efs::nfs4::test::write(0, "new bytes", FILE_SYNC4)});
  CHECK(last_status(w) == NFS4ERR_IO);
  // RFC 8881 18.3.3: a COMMIT that cannot make the data stable must fail; the
  // disk would now succeed, but the pages may already be gone.
  CHECK(last_status(f.run({putfh(fh), commit()})) == NFS4ERR_IO);
  auto r = f.run({putfh(fh), efs::nfs4::test::read(0, 100)});
  REQUIRE(r.status == NFS4_OK);
  auto& data = r.resarray[1].opread.resok4.data;
  CHECK(data.size() == 3);  // the new size was never committed
}

TEST_CASE("WRITE on a full data dir answers NFS4ERR_NOSPC, and works once space is freed") {
  Fixture f;
  f.make_file("data", "old");
  auto fh = f.fh_of({"data"});
  f.disk.fail_always(Op::pwrite, ENOSPC);
  CHECK(last_status(f.run({putfh(fh), efs::nfs4::test::write(3, "more", UNSTABLE4)})) ==
        NFS4ERR_NOSPC);
  CHECK(last_status(f.run({putfh(fh), efs::nfs4::test::write(3, "more", FILE_SYNC4)})) ==
        NFS4ERR_NOSPC);
  f.disk.clear();
  auto w = f.run({putfh(fh), efs::nfs4::test::write(3, "more", FILE_SYNC4)});
  REQUIRE(w.status == NFS4_OK);
  CHECK(w.resarray[1].opwrite.resok4.committed == FILE_SYNC4);
  auto r = f.run({putfh(fh), efs::nfs4::test::read(0, 100)});
  REQUIRE(r.status == NFS4_OK);
  CHECK(std::string(r.resarray[1].opread.resok4.data.begin(),
                    r.resarray[1].opread.resok4.data.end()) == "oldmore");
}
