// The COMPOUND loop's throughput metering (compound.cc charge_io/meter_op):
// each COMPOUND is charged once to the file system its ops ran on.
#include <doctest/doctest.h>

#include "fixture.h"
#include "throughput/throttle.h"

using namespace efs::nfs4;
using namespace efs::nfs4::test;
namespace tp = efs::throughput;

TEST_CASE(
    "a COMPOUND's READ and WRITE bytes, or one metadata request, are charged to its file system") {
  Fixture f;
  tp::Throttle throttle(f.clock, tp::Options{},
                        [&](const std::string& id, bool) -> std::optional<tp::Settings> {
                          if (id != f.fs_id) return std::nullopt;
                          return tp::Settings{tp::Mode::provisioned, 1, 0};
                        });
  f.server->set_throttle(&throttle);
  // Nothing touched the file system yet: the pseudo-root alone is not metered.
  f.run({putrootfh(), getattr({})});
  CHECK(throttle.file_systems().empty());

  f.make_file("data", std::string(100, 'x'));
  auto fh = f.fh_of({});
  auto file = f.fh_of({"data"});
  auto before = throttle.stats(f.fs_id);
  REQUIRE(before);
  // One metadata request: 4 KiB.
  f.run({putfh(fh), getattr({})});
  auto s = throttle.stats(f.fs_id);
  CHECK(s->metadata_io_bytes - before->metadata_io_bytes == 4096);
  CHECK(s->metered_io_bytes - before->metered_io_bytes == 4096);

  // A WRITE of 10 bytes and a READ of 100 in one COMPOUND: data, no metadata.
  auto r = f.run({putfh(file), test::write(0, "0123456789", FILE_SYNC4), test::read(0, 1000)});
  REQUIRE(r.status == NFS4_OK);
  s = throttle.stats(f.fs_id);
  CHECK(s->data_write_io_bytes == 10);
  CHECK(s->data_read_io_bytes == 100);
  CHECK(s->metadata_io_bytes - before->metadata_io_bytes == 4096);
  // 4 KiB for the WRITE, 4 KiB / 3 for the READ (provisioned), plus the GETATTR before.
  CHECK(s->metered_io_bytes - before->metered_io_bytes == 4096 + 4096 + 1365);
  CHECK(s->client_connections == 1);

  // A 1 MiB WRITE at 1 MiB/s: the next request on this file system waits ~1 s.
  r = f.run({putfh(file), test::write(0, std::string(1 << 20, 'y'), UNSTABLE4)});
  REQUIRE(r.status == NFS4_OK);
  auto* m = throttle.meter(f.fs_id);
  REQUIRE(m);
  tp::Tally t;
  t.metadata_ops = 1;
  CHECK(throttle.charge(*m, 99, t) > std::chrono::milliseconds(700));
  f.server->connection_closed(f.ctx.connection_id);
  CHECK(throttle.stats(f.fs_id)->client_connections == 1);  // connection 99 remains
}
