// RuntimeService is split by RPC group into version.cc, status.cc, ...; this file holds what the
// groups share.
#include "cri/runtime_service.h"
