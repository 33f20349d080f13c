"""The CrossGuard policy pack of the site, for `pulumi preview --policy-pack <this folder>`."""
