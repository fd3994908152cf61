#include "tls/efs_utils_config.h"

#include <filesystem>
#include <sstream>

#include "efs/record.h"
#include "meta/db.h"

namespace efs::tls {

std::string render_efs_utils_config(const EfsUtilsConfig& c) {
  std::ostringstream o;
  o << "# efs-local: what efs-utils needs to mount over TLS (README, \"TLS (encryption in "
       "transit)\")\n";
  o << "ca_file = " << c.ca_file << "\n";
  o << "region = " << c.region << "\n";
  o << "dns_name_format = {fs_id}.efs.{region}.{dns_name_suffix}\n";
  o << "dns_name_suffix = " << c.dns_name_suffix << "\n";
  if (c.nfs_port != 2049) {
    o << "# efs-utils always connects to port 2049; this server listens on " << c.nfs_port
      << ": run it with --nfs-port 2049 for efs-utils\n";
  }
  o << "\n# In /etc/amazon/efs/efs-utils.conf:\n";
  o << "[mount]\n";
  o << "region = " << c.region << "\n";
  o << "dns_name_format = {fs_id}.efs.{region}.{dns_name_suffix}\n";
  o << "dns_name_suffix = " << c.dns_name_suffix << "\n";
  o << "stunnel_cafile = " << c.ca_file << "\n";
  o << "\n# Mount targets (mount with -o tls,mounttargetip=<ip>):\n";
  if (c.mount_targets.empty()) o << "# none yet: create one with CreateMountTarget\n";
  for (const auto& mt : c.mount_targets) {
    o << mt.fs_id << " " << mt.mount_target_id << " " << mt.az << " " << mt.state
      << " mounttargetip=" << mt.ip << "\n";
    o << "#   mount -t efs -o tls,mounttargetip=" << mt.ip << ",region=" << c.region
      << ",cafile=" << c.ca_file << " " << mt.fs_id << " /mnt/efs\n";
  }
  return o.str();
}

Result<std::vector<MountTargetInfo>, Error> read_mount_targets(const std::string& data_dir) {
  const std::string path = data_dir + "/meta.db";
  if (!std::filesystem::exists(path)) return std::vector<MountTargetInfo>{};
  auto db = meta::Db::open(path, 1);
  if (!db) return fail(db.error());
  std::vector<MountTargetInfo> out;
  auto r = (*db)->read([&](meta::Conn& c) -> Status<> {
    try {
      for (const auto& rec : store::list_all(c, kind::kMountTarget)) {
        if (rec.deleting_at) continue;
        MountTargetInfo mt;
        mt.mount_target_id = rec.id;
        mt.fs_id = rec.parent_id;
        mt.ip = rec.doc.value("IpAddress", "");
        mt.az = rec.doc.value("AvailabilityZoneName", rec.token);
        mt.state = rec.doc.value("LifeCycleState", "");
        out.push_back(std::move(mt));
      }
    } catch (const std::exception& e) {
      return fail(Error{e.what()});
    }
    return {};
  });
  if (!r) return fail(r.error());
  return out;
}

}  // namespace efs::tls
