// MetaRepository contract.

#include <gtest/gtest.h>

#include "store/store.h"
#include "unit/store/store_fixture.h"

namespace barbossa::test {
namespace {

class MetaContract : public StoreContractTest {};

TEST_P(MetaContract, MetaGetPut) {
  store_->write([](StoreSession& s) {
    EXPECT_FALSE(s.meta().get("seq"));
    s.meta().put("seq", "1");
    s.meta().put("seq", "2");
    EXPECT_EQ(s.meta().get("seq"), "2");
  });
  store_->read([](StoreSession& s) { EXPECT_EQ(s.meta().get("seq"), "2"); });
}

BARBOSSA_STORE_CONTRACT(MetaContract);

}  // namespace
}  // namespace barbossa::test
