namespace Patronus.Agent.Services.Merge;

/// <summary>The condition types and reasons of a ServiceExport, as the MCS API (sigs.k8s.io/mcs-api v1alpha1) names them.</summary>
public static class ExportConditions
{
    public const string Valid = "Valid";
    public const string Ready = "Ready";
    public const string Conflict = "Conflict";

    public static class Reasons
    {
        // Valid
        public const string Valid = "Valid";
        public const string NoService = "NoService";
        public const string InvalidServiceType = "InvalidServiceType";

        // Ready
        public const string Exported = "Exported";
        public const string Pending = "Pending";
        public const string Failed = "Failed";

        // Conflict: several at once are joined with commas, in this order.
        public const string PortConflict = "PortConflict";
        public const string TypeConflict = "TypeConflict";
        public const string SessionAffinityConflict = "SessionAffinityConflict";
        public const string SessionAffinityConfigConflict = "SessionAffinityConfigConflict";
        public const string IPFamilyConflict = "IPFamilyConflict";
        public const string NoConflicts = "NoConflicts";
    }
}

public enum ConditionStatus
{
    True,
    False,
    Unknown,
}

/// <summary>One condition as the ServiceExport's status holds it (the writer adds lastTransitionTime when the status changes).</summary>
public sealed record ExportCondition(string Type, ConditionStatus Status, string Reason, string Message);
