// Boost.JSON compiled into the fuzz targets with their instrumentation (see CMakeLists.txt).
#include <boost/json/src.hpp>
