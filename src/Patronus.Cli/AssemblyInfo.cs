// The CLI drives network namespaces, netlink and key files protected by Unix modes: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
