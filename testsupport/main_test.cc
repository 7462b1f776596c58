// The one Boost.Test module of ztc: every *_test.cc links into it.
#define BOOST_TEST_MODULE ztc
#include <boost/test/unit_test.hpp>
