// The agent programs nftables through libnftables and speaks Linux sockets: it runs on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
