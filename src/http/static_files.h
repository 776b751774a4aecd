// Serves the web page from a folder. Paths are confined to that folder:
// no `..`, no NUL, no symlink that leads outside it.
#pragma once

#include <string>

#include "http/router.h"

namespace barbossa {

Handler make_static_handler(std::string web_root);
std::string mime_type_for(const std::string& path);

}  // namespace barbossa
