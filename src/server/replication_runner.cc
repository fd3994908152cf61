#include "server/replication_runner.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace efs::server {

namespace {

// Real seconds between looks at the configurations when nothing wakes us.
constexpr double kPollSeconds = 1.0;
// Emulator seconds before a failed or paused sync is tried again.
constexpr double kRetrySeconds = 60.0;

}  // namespace

ReplicationRunner::ReplicationRunner(vfs::Vfs& vfs, meta::Db& db, Service& service, Clock& clock,
                                     double interval_seconds, KeyProblem key_problem)
    : vfs_(vfs),
      service_(service),
      clock_(clock),
      interval_(interval_seconds),
      key_problem_(std::move(key_problem)),
      sync_(db) {}

ReplicationRunner::~ReplicationRunner() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cancel_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReplicationRunner::start() {
  // What the last completed syncs were (LastReplicatedTimestamp survives restarts).
  if (auto jobs = service_.replication_jobs()) {
    std::lock_guard lk(lag_mu_);
    for (const auto& j : *jobs)
      if (j.last_replicated) last_[j.source] = {j.destination, *j.last_replicated};
  }
  thread_ = std::thread([this] { loop(); });
}

void ReplicationRunner::wake() {
  {
    std::lock_guard lk(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void ReplicationRunner::loop() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, std::chrono::duration<double>(kPollSeconds), [&] { return stop_ || woken_; });
    if (stop_) break;
    woken_ = false;
    lk.unlock();
    run_due();
    lk.lock();
  }
}

void ReplicationRunner::run_due() {
  std::lock_guard run(run_mu_);
  (void)pass(std::nullopt, false);
}

Result<std::vector<ReplicationRunner::Report>, Error> ReplicationRunner::run_now(
    const std::optional<std::string>& source) {
  std::lock_guard run(run_mu_);
  if (source) {
    auto jobs = service_.replication_jobs();
    if (!jobs) return fail(jobs.error());
    if (std::none_of(jobs->begin(), jobs->end(),
                     [&](const auto& j) { return j.source == *source; }))
      return fail(Error{"ReplicationNotFound"});
  }
  return pass(source, true);
}

std::vector<ReplicationRunner::Report> ReplicationRunner::pass(
    const std::optional<std::string>& only, bool force) {
  std::vector<Report> out;
  auto jobs = service_.replication_jobs();
  if (!jobs) {
    spdlog::error("replication: cannot list the configurations: {}", jobs.error().message);
    return out;
  }
  const double now = clock_.now_epoch_seconds();
  for (const auto& j : *jobs) {
    if (only && j.source != *only) continue;
    if (j.deleting) {
      // A delete whose data-plane side did not finish in its request.
      Report r{j.source, j.destination, false, "DELETING", "", j.last_replicated, {}};
      if (let_go(j.source, j.destination)) {
        if (auto f = service_.finish_replication_delete(j.source); !f)
          spdlog::error("replication {}: {}", j.source, f.error().message);
      }
      out.push_back(std::move(r));
      continue;
    }
    if (!force) {
      if (auto it = retry_at_.find(j.source); it != retry_at_.end() && now < it->second) continue;
      if (j.last_replicated && now < *j.last_replicated + interval_) continue;
    }
    out.push_back(sync_one(j));
  }
  return out;
}

ReplicationRunner::Report ReplicationRunner::sync_one(const Service::ReplicationJob& j) {
  Report r{j.source, j.destination,     false, j.last_replicated ? "ENABLED" : "ENABLING",
           "",       j.last_replicated, {}};
  auto src = vfs_.file_system(j.source);
  auto dst = vfs_.file_system(j.destination);
  if (!src || !dst) {
    // A new destination is still "creating": its namespace comes with "available".
    spdlog::debug("replication {} -> {}: waiting for both namespaces", j.source, j.destination);
    return r;
  }
  auto report_problem = [&](const char* status, const std::string& message) {
    r.status = status;
    r.message = message;
    retry_at_[j.source] = clock_.now_epoch_seconds() + kRetrySeconds;
    if (auto s = service_.replication_status(j.source, status, message); !s)
      spdlog::error("replication {}: {}", j.source, s.error().message);
  };
  if (key_problem_) {
    if (auto why = key_problem_(j.source)) {
      report_problem("PAUSED", "The source file system's KMS key cannot be used: " + *why +
                                   ". Replication resumes once the key is usable again.");
      return r;
    }
    if (auto why = key_problem_(j.destination)) {
      report_problem("ERROR", "The destination file system's KMS key cannot be used: " + *why);
      return r;
    }
  }
  if (!attached_.count(j.source)) {
    if (auto a = sync_.attach(*src, *dst); !a) {
      report_problem("ERROR", "Cannot start replicating: " + a.error().message);
      return r;
    }
    attached_.insert(j.source);
  }
  const double began = clock_.now_epoch_seconds();
  spdlog::info("replication {} -> {}: sync started", j.source, j.destination);
  auto done = sync_.sync(*src, *dst, &cancel_);
  if (!done) {
    const auto& e = done.error();
    if (e.errc == vfs::Errc::delay) {
      spdlog::info("replication {} -> {}: {}", j.source, j.destination, e.message);
      return r;
    }
    spdlog::error("replication {} -> {}: sync failed: {}", j.source, j.destination, e.message);
    if (!e.destination && key_problem_ && key_problem_(j.source))
      report_problem("PAUSED",
                     "The source file system's KMS key cannot be used: " + *key_problem_(j.source) +
                         ". Replication resumes once the key is usable again.");
    else
      report_problem("ERROR",
                     std::string(e.destination ? "Writing the destination" : "Reading the source") +
                         " failed: " + e.message);
    return r;
  }
  retry_at_.erase(j.source);
  const auto& st = *done;
  spdlog::info(
      "replication {} -> {}: sync completed{}: {} created, {} updated, {} linked or moved, {} "
      "removed, {} bytes copied",
      j.source, j.destination, st.full ? " (whole tree)" : "", st.created, st.updated, st.linked,
      st.removed, st.bytes);
  if (auto s = service_.replication_synced(j.source, began); !s) {
    // The destination has it all, but the model did not hear: the next
    // sync (with nothing to copy) says it again.
    spdlog::error("replication {}: {}", j.source, s.error().message);
    return r;
  }
  {
    std::lock_guard lk(lag_mu_);
    last_[j.source] = {j.destination, began};
  }
  r.synced = true;
  r.status = "ENABLED";
  r.last_replicated = began;
  r.stats = st;
  return r;
}

bool ReplicationRunner::deleting(const std::string& source, const std::string& dest) {
  cancel_ = true;
  std::lock_guard run(run_mu_);
  cancel_ = false;
  return let_go(source, dest);
}

bool ReplicationRunner::let_go(const std::string& source, const std::string& dest) {
  auto src = vfs_.file_system(source);
  auto dst = vfs_.file_system(dest);
  Status<> s;
  if (dst)
    s = sync_.detach(src.get(), *dst);
  else if (src)
    s = src->set_change_log(false);
  if (!s) {
    spdlog::error("replication {} -> {}: cannot stop: {}", source, dest, s.error().message);
    return false;
  }
  attached_.erase(source);
  retry_at_.erase(source);
  {
    std::lock_guard lk(lag_mu_);
    last_.erase(source);
  }
  spdlog::info("replication {} -> {}: stopped; {} keeps the last completed sync", source, dest,
               dest);
  return true;
}

std::vector<ReplicationRunner::Lag> ReplicationRunner::lags() const {
  const double now = clock_.now_epoch_seconds();
  std::vector<Lag> out;
  std::lock_guard lk(lag_mu_);
  for (const auto& [src, v] : last_)
    out.push_back(Lag{src, v.first, std::max(0.0, now - v.second)});
  return out;
}

}  // namespace efs::server
