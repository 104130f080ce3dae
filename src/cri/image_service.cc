#include "cri/image_service.h"
