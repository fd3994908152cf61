// The emulator clock's offset in meta.db: restored on start, never lowered.
#include <doctest/doctest.h>

#include <filesystem>

#include "common/clock.h"
#include "common/ids.h"
#include "meta/db.h"
#include "server/clock_store.h"

namespace {

using namespace std::chrono_literals;

struct TempDb {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("clock-store-" + efs::random_hex(12));
  TempDb() { std::filesystem::create_directories(dir); }
  ~TempDb() { std::filesystem::remove_all(dir); }
  std::unique_ptr<efs::meta::Db> open() {
    auto d = efs::meta::Db::open((dir / "meta.db").string());
    REQUIRE(d.ok());
    return std::move(*d);
  }
};

}  // namespace

TEST_CASE("a fresh data dir leaves the clock at real time") {
  TempDb t;
  auto db = t.open();
  efs::Clock clock;
  REQUIRE(efs::server::restore_clock(*db, clock).ok());
  CHECK(clock.offset().count() == 0);
}

TEST_CASE("an advance survives reopening the database") {
  TempDb t;
  {
    auto db = t.open();
    efs::Clock clock;
    REQUIRE(efs::server::restore_clock(*db, clock).ok());
    clock.advance(std::chrono::duration_cast<efs::Clock::duration>(8 * 24h));
    REQUIRE(efs::server::save_clock(*db, clock).ok());
    clock.advance(std::chrono::duration_cast<efs::Clock::duration>(90min));
    REQUIRE(efs::server::save_clock(*db, clock).ok());
  }
  auto db = t.open();
  efs::Clock again;
  REQUIRE(efs::server::restore_clock(*db, again).ok());
  CHECK(again.offset() == std::chrono::duration_cast<efs::Clock::duration>(8 * 24h + 90min));
}

TEST_CASE("the stored offset never goes back, and a clock ahead of it stays ahead") {
  TempDb t;
  auto db = t.open();
  efs::Clock ahead;
  REQUIRE(efs::server::restore_clock(*db, ahead).ok());
  ahead.advance(std::chrono::duration_cast<efs::Clock::duration>(48h));
  REQUIRE(efs::server::save_clock(*db, ahead).ok());

  efs::Clock behind;  // saving a smaller offset keeps the larger one
  behind.advance(std::chrono::duration_cast<efs::Clock::duration>(1h));
  REQUIRE(efs::server::save_clock(*db, behind).ok());
  efs::Clock fresh;
  REQUIRE(efs::server::restore_clock(*db, fresh).ok());
  CHECK(fresh.offset() == std::chrono::duration_cast<efs::Clock::duration>(48h));

  efs::Clock further;  // restoring never moves a clock backwards
  further.advance(std::chrono::duration_cast<efs::Clock::duration>(72h));
  REQUIRE(efs::server::restore_clock(*db, further).ok());
  CHECK(further.offset() == std::chrono::duration_cast<efs::Clock::duration>(72h));
}
