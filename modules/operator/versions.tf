terraform {
  # 1.8: OpenTofu's mock_provider, which the tests under tests/ use.
  required_version = ">= 1.8"

  required_providers {
    fediversity = { source = "fediversity/fediversity" }
  }
}
