using Microsoft.Extensions.Logging;

namespace Patronus.Agent.Mesh.Discovery;

public sealed partial class AnnouncementExchange
{
    private static partial class Log
    {
        [LoggerMessage(511, LogLevel.Information, "Member {Member} accepted: prefixes {Prefixes}, endpoints {Endpoints}")]
        public static partial void MemberAccepted(ILogger logger, string member, string prefixes, string endpoints);

        [LoggerMessage(512, LogLevel.Warning, "Announcement refused ({Reason}) from {From}, claiming to be {Member}: {Detail} ({Suppressed} more refusals not logged)")]
        public static partial void Rejected(ILogger logger, string reason, string from, string member, string detail, long suppressed);

        [LoggerMessage(513, LogLevel.Warning, "Member {Member} not heard from for {Seconds} s: its peer and routes are removed")]
        public static partial void MemberExpired(ILogger logger, string member, double seconds);

        [LoggerMessage(514, LogLevel.Debug, "Announcement to {Target} not sent: {Error}")]
        public static partial void SendFailed(ILogger logger, string target, string error);
    }
}
