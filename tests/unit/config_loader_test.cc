#include <gtest/gtest.h>
TEST(ConfigLoader, Placeholder) { SUCCEED(); }
