// The one translation unit that compiles Asio (BOOST_ASIO_SEPARATE_COMPILATION is set for all).
#include <boost/asio/impl/src.hpp>
// Asio's SSL stream (the worker channel, common/channel_tls.h).
#include <boost/asio/ssl/impl/src.hpp>
