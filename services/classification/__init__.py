"""Classification: tier and tags of a household under the policy in force."""
