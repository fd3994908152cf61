// The replicator: keeps each replication's destination a copy of its
// source (vfs/replica_sync.h), on its own thread, off the NFS I/O threads,
// on the emulator clock:
//  - a new configuration syncs at once (EFS's initial sync), then each
//    time `interval` (--replication-interval, default 15 emulated minutes,
//    EFS's recovery point objective) has passed since the last completed
//    sync began;
//  - at once when a clock advance made a sync due (run_due, from
//    POST /_efs-local/clock, before that request answers);
//  - on demand (run_now: POST /_efs-local/replication/run).
// Syncs never overlap. What each one finds goes to the EFS model
// (Service::replication_synced / replication_status): ENABLED with
// LastReplicatedTimestamp after a completed sync; PAUSED while the
// source's KMS key is unusable; ERROR when a sync fails for another reason
// (retried, and cleared by the next completed sync). A delete
// (DeleteReplicationConfiguration) cuts a sync in flight short, then lets go
// of both ends: the destination keeps what the last completed sync put there.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "efs/service.h"
#include "meta/db.h"
#include "vfs/replica_sync.h"
#include "vfs/vfs.h"

namespace efs::server {

class ReplicationRunner {
 public:
  // Why fs_id's KMS key cannot be used now (nullopt: it can, or the file
  // system is not encrypted): the replication of such a source is PAUSED.
  using KeyProblem = std::function<std::optional<std::string>(const std::string& fs_id)>;

  // interval_seconds: emulator-clock seconds between syncs (> 0).
  ReplicationRunner(vfs::Vfs& vfs, meta::Db& db, Service& service, Clock& clock,
                    double interval_seconds, KeyProblem key_problem);
  ~ReplicationRunner();  // stops and joins the thread
  ReplicationRunner(const ReplicationRunner&) = delete;
  ReplicationRunner& operator=(const ReplicationRunner&) = delete;

  void start();
  // DataPlane::replications_changed: look at the configurations again soon.
  void wake();
  // DataPlane::replication_deleting: stops syncing source -> dest and lets
  // go of both ends (the destination's map, the source's change log).
  bool deleting(const std::string& source, const std::string& dest);

  struct Report {
    std::string source;
    std::string destination;
    bool synced = false;                    // a sync completed in this call
    std::string status;                     // ENABLING, ENABLED, PAUSED, ERROR, DELETING
    std::string message;                    // why PAUSED or ERROR
    std::optional<double> last_replicated;  // epoch seconds
    vfs::ReplicaSyncStats stats;
  };
  // A sync now of every replication, or only of the one whose source is
  // `source` (Error "ReplicationNotFound" if it has none).
  Result<std::vector<Report>, Error> run_now(const std::optional<std::string>& source);
  // The syncs the emulator clock made due, before returning.
  void run_due();

  // Seconds (emulator clock) since the last completed sync began, per
  // replication that has completed one: CloudWatch's TimeSinceLastSync
  // (AWS/EFS, dimensions FileSystemId and DestinationFileSystemId) and the
  // Prometheus gauge efs_local_replication_seconds_since_last_sync.
  struct Lag {
    std::string source;
    std::string destination;
    double seconds_since_last_sync = 0;
  };
  std::vector<Lag> lags() const;

 private:
  void loop();
  // One pass over the configurations (run_mu_ held): each that is due (or
  // every one, with `force`), or only `only`.
  std::vector<Report> pass(const std::optional<std::string>& only, bool force);
  Report sync_one(const Service::ReplicationJob& job);
  bool let_go(const std::string& source, const std::string& dest);

  vfs::Vfs& vfs_;
  Service& service_;
  Clock& clock_;
  const double interval_;
  KeyProblem key_problem_;
  vfs::ReplicaSync sync_;
  std::mutex run_mu_;  // one pass at a time
  std::atomic<bool> cancel_{false};
  std::mutex mu_;  // guards the two below
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  // Guarded by run_mu_.
  std::set<std::string> attached_;          // sources paired in this process
  std::map<std::string, double> retry_at_;  // source -> emulator time to try again after a failure
  mutable std::mutex lag_mu_;
  std::map<std::string, std::pair<std::string, double>> last_;  // source -> (dest, began)
  std::thread thread_;
};

}  // namespace efs::server
