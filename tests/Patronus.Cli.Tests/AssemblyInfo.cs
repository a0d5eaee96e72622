// These run only where the code under test does: Linux (netlink, namespaces, the lab's WAN links, Unix file modes).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
