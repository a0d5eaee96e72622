// The agent runs on Linux nodes only: netlink, nftables and network namespaces have no other home.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
