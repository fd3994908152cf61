// Background threads (the lifecycle mover, replication) yield to the NFS I/O
// threads: the calling thread gets a lower CPU priority and the lowest
// best-effort I/O priority. Linux applies both per thread. Unprivileged
// processes cannot raise a priority again, so call this only on a thread
// that stays in the background for its whole life.
#pragma once

namespace efs {

// `what` names the thread in the log line if a priority cannot be set.
void become_background_thread(const char* what);

}  // namespace efs
