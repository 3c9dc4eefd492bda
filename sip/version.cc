#include "sip/version.h"

#include "tandem_build_config.h"

namespace tandem {

std::string_view version() noexcept {
    return TANDEM_VERSION;
}

} // namespace tandem
