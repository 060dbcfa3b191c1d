#include "service/services.h"

namespace mk::service {

Services::Services(const ServicesDeps& deps)
    : regs_(deps.base),
      tunables_(regs_),
      events_(regs_),
      services_(regs_),
      cdevs_(regs_, deps.devfs, &events_) {}

Result<void> Services::attach() {
  MK_TRY(regs_.set_open_revoker(&Cdevs::revoke_open, &cdevs_));
  module::ModuleListener l;
  l.stopped = &Services::stopped;
  l.revoking = &Services::revoking;
  l.starting = &Services::starting;
  l.ctx = this;
  return regs_.registry().add_listener(l);
}

Result<void> Services::starting(void* ctx, module::File& f, const module::LoadParams& p) {
  return static_cast<Services*>(ctx)->tunables_.start_file(f, p);
}

void Services::stopped(void* ctx, module::Module* m) {
  (void)static_cast<Services*>(ctx)->regs_.module_stopped(m);
}

void Services::revoking(void* ctx, module::Module* m) {
  static_cast<Services*>(ctx)->regs_.module_revoking(m);
}

}  // namespace mk::service
