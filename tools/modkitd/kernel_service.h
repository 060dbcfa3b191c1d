// KernelService: modkitd's kernel (a hosted::System booted from a
// DaemonConfig) and the verbs of the control protocol (hosted/control.h)
// run against it. The socket server and the console both hand it requests.
//
// Concurrency: requests arrive on several threads (a thread per client, the
// console). Reads (stat, log) go straight to the registry, which is
// thread-safe. Requests that change the kernel (load, unload, shutdown) and
// the symbol queries (which must not overlap a load) take change_mu_ in turn,
// so a reply lists exactly the files its request loaded or unloaded, and
// nothing is loaded after the shutdown.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hosted/config.h"
#include "hosted/control.h"
#include "hosted/fuse_devfs.h"
#include "hosted/system.h"

namespace modkitd {

using mk::hosted::control::json;

class KernelService {
 public:
  // echo: also gets every log line (the foreground daemon prints them); may be empty.
  KernelService(mk::hosted::DaemonConfig config, std::string config_origin,
                std::function<void(const std::string&)> echo);
  ~KernelService();

  // Boots the System (static modules), reports the configuration in the
  // log, preloads. A failing preload is logged and the boot goes on; false
  // only when the kernel itself cannot boot.
  bool boot(std::string* err);

  // One request (control.h). conn is nullptr on the console (no streams).
  std::optional<json> handle(const json& request, mk::hosted::control::Connection* conn);

  // SHUTDOWN events (dependents first), every dynamic file unloaded; once.
  // Returns the lines it logged. Wakes `log --follow` streams to end.
  std::vector<std::string> shutdown();
  // Called (from a request thread) after a `shutdown` request has been done:
  // the daemon's main loop exits.
  std::function<void()> on_shutdown;

  void log(const std::string& line) { system_->add_log(line); }

 private:
  struct FileInfo;
  std::vector<FileInfo> snapshot();
  json file_json(const FileInfo& f);
  json do_load(const json& r);
  json do_unload(const json& r);
  json do_stat();
  json do_sym(const json& r);
  json do_params(const json& r);
  // The device verbs and the config's devices (devices.cc).
  json do_devices();
  json do_device_add(const json& r);
  json do_device_remove(const json& r);
  json add_device(const std::string& spec);
  void add_config_devices();
  std::optional<json> do_log(const json& r, mk::hosted::control::Connection* conn);
  void preload();
  void mount_devfs();
  void on_log(const std::string& line);

  mk::hosted::DaemonConfig config_;
  std::string origin_;
  std::function<void(const std::string&)> echo_;
  std::unique_ptr<mk::hosted::System> system_;
  std::unique_ptr<mk::hosted::FuseDevfs> devfs_mount_;  // goes before system_

  std::mutex change_mu_;  // load, unload, shutdown: one at a time
  bool booted_ = false;
  bool down_ = false;  // under change_mu_
  std::vector<std::string> shutdown_log_;

  std::mutex log_mu_;  // followers wait for new lines here
  std::condition_variable log_cv_;
  uint64_t log_generation_ = 0;
  bool log_closed_ = false;
};

}  // namespace modkitd
