#include "server/clock_store.h"

#include "meta/db.h"

namespace efs::server {

namespace {

// Version 1: one row holding the offset in the clock's own ticks.
const std::vector<std::string> kMigrations = {
    "CREATE TABLE emulator_clock(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " offset_ticks INTEGER NOT NULL);",
};

}  // namespace

Status<> restore_clock(meta::Db& db, Clock& clock) {
  if (auto s = db.ensure_schema("clock", kMigrations); !s) return s;
  Clock::duration::rep stored = 0;
  auto s = db.read([&](meta::Conn& c) -> Status<> {
    auto& st = c.stmt("SELECT offset_ticks FROM emulator_clock WHERE id = 1");
    if (st.step()) stored = st.i64(0);
    if (!st.error().empty()) return fail(Error{"reading the clock offset: " + st.error()});
    return {};
  });
  if (!s) return s;
  // Only forward: a clock that already moved (a test's private one) keeps
  // whichever is later.
  if (const auto have = clock.offset().count(); stored > have)
    clock.advance(Clock::duration(stored - have));
  return {};
}

Status<> save_clock(meta::Db& db, const Clock& clock) {
  const auto ticks = static_cast<int64_t>(clock.offset().count());
  return db.write_synced([&](meta::Conn& c) -> Status<> {
    auto& st = c.stmt(
        "INSERT INTO emulator_clock(id, offset_ticks) VALUES (1, ?1)"
        " ON CONFLICT(id) DO UPDATE SET offset_ticks = MAX(offset_ticks, excluded.offset_ticks)");
    if (!st.bind_all(ticks).run())
      return fail(Error{"saving the clock offset: " + st.error(), st.code()});
    return {};
  });
}

}  // namespace efs::server
