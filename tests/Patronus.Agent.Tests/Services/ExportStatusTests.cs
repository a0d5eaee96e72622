using k8s.Models;
using Patronus.Agent.Services.Merge;

namespace Patronus.Agent.Tests.Services;

/// <summary>A ServiceExport's status.conditions from the merge's conditions: written only when they change, lastTransitionTime moving only with the status.</summary>
public sealed class ExportStatusTests
{
    private static readonly DateTime T0 = new(2026, 12, 1, 10, 0, 0, 400, DateTimeKind.Utc);
    private static readonly DateTime T1 = T0.AddMinutes(5);

    private static ExportCondition Valid() => new(ExportConditions.Valid, ConditionStatus.True, ExportConditions.Reasons.Valid, "ok");

    private static ExportCondition Ready(ConditionStatus status = ConditionStatus.True) =>
        new(ExportConditions.Ready, status, status == ConditionStatus.True ? ExportConditions.Reasons.Exported : ExportConditions.Reasons.Pending, "m");

    private static ExportCondition Conflict(ConditionStatus status, string reason = ExportConditions.Reasons.NoConflicts, string message = "none") =>
        new(ExportConditions.Conflict, status, reason, message);

    private static V1Condition Held(IList<V1Condition> conditions, string type) => conditions.Single(c => c.Type == type);

    [Fact]
    public void FirstStatus_HoldsEveryCondition_WithTheTimeToTheSecond_AndTheGeneration()
    {
        var next = ExportStatus.Next([Valid(), Ready(), Conflict(ConditionStatus.False)], null, 3, T0)!;

        Assert.Equal(["Valid", "Ready", "Conflict"], next.Select(c => c.Type));
        Assert.Equal(["True", "True", "False"], next.Select(c => c.Status));
        Assert.Equal(["Valid", "Exported", "NoConflicts"], next.Select(c => c.Reason));
        Assert.All(next, c => Assert.Equal(new DateTime(2026, 12, 1, 10, 0, 0, DateTimeKind.Utc), c.LastTransitionTime));
        Assert.All(next, c => Assert.Equal(3, c.ObservedGeneration));
    }

    [Fact]
    public void TheSameConditionsAgain_AreNotWritten_WhateverTheTime()
    {
        var first = ExportStatus.Next([Valid(), Ready(), Conflict(ConditionStatus.False)], [], null, T0)!;

        Assert.Null(ExportStatus.Next([Valid(), Ready(), Conflict(ConditionStatus.False)], first, null, T1));
        // As read back from the API server: the same instants, another DateTimeKind.
        var readBack = first.Select(c => new V1Condition
        {
            LastTransitionTime = DateTime.SpecifyKind(c.LastTransitionTime, DateTimeKind.Unspecified), Message = c.Message, Reason = c.Reason, Status = c.Status, Type = c.Type, ObservedGeneration = c.ObservedGeneration,
        }).ToList();
        Assert.Null(ExportStatus.Next([Valid(), Ready(), Conflict(ConditionStatus.False)], readBack, null, T1));
    }

    [Fact]
    public void ANewReasonOrMessage_UnderTheSameStatus_IsWritten_AndKeepsTheTransitionTime()
    {
        var first = ExportStatus.Next([Valid(), Ready(), Conflict(ConditionStatus.True, "PortConflict", "port http")], null, null, T0)!;

        var next = ExportStatus.Next([Valid(), Ready(), Conflict(ConditionStatus.True, "PortConflict,TypeConflict", "port http; type")], first, null, T1)!;

        Assert.Equal("PortConflict,TypeConflict", Held(next, "Conflict").Reason);
        Assert.Equal(Held(first, "Conflict").LastTransitionTime, Held(next, "Conflict").LastTransitionTime);
    }

    [Fact]
    public void AStatusChange_MovesThatConditionsTime_Only()
    {
        var first = ExportStatus.Next([Valid(), Ready(ConditionStatus.Unknown), Conflict(ConditionStatus.False)], null, null, T0)!;

        var next = ExportStatus.Next([Valid(), Ready(), Conflict(ConditionStatus.False)], first, null, T1)!;

        Assert.Equal("True", Held(next, "Ready").Status);
        Assert.Equal(T1.AddMilliseconds(-400), Held(next, "Ready").LastTransitionTime);
        Assert.Equal(Held(first, "Valid").LastTransitionTime, Held(next, "Valid").LastTransitionTime);
        Assert.Equal(Held(first, "Conflict").LastTransitionTime, Held(next, "Conflict").LastTransitionTime);
    }

    [Fact]
    public void AConditionNoLongerComputed_Goes_AndOthersConditionsStay()
    {
        var foreign = new V1Condition { LastTransitionTime = T0, Message = "someone else's", Reason = "Theirs", Status = "True", Type = "Synced" };
        var first = ExportStatus.Next([Valid(), Ready(), Conflict(ConditionStatus.False)], [foreign], null, T0)!;
        Assert.Equal(["Valid", "Ready", "Conflict", "Synced"], first.Select(c => c.Type));

        // The Service became ExternalName: invalid exports take no part in the merge and have no Conflict condition.
        var invalid = new ExportCondition(ExportConditions.Valid, ConditionStatus.False, ExportConditions.Reasons.InvalidServiceType, "ExternalName");
        var failed = new ExportCondition(ExportConditions.Ready, ConditionStatus.False, ExportConditions.Reasons.Failed, "invalid");
        var next = ExportStatus.Next([invalid, failed], first, null, T1)!;

        Assert.Equal(["Valid", "Ready", "Synced"], next.Select(c => c.Type));
        Assert.Equal("InvalidServiceType", Held(next, "Valid").Reason);
        Assert.Same(foreign, Held(next, "Synced"));
        Assert.Null(ExportStatus.Next([invalid, failed], next, null, T1.AddHours(1)));
    }

    [Fact]
    public void ANewGeneration_IsWritten_WithTheTimesKept()
    {
        var first = ExportStatus.Next([Valid(), Ready(), Conflict(ConditionStatus.False)], null, 1, T0)!;

        var next = ExportStatus.Next([Valid(), Ready(), Conflict(ConditionStatus.False)], first, 2, T1)!;

        Assert.All(next, c => Assert.Equal(2, c.ObservedGeneration));
        Assert.Equal(first.Select(c => c.LastTransitionTime), next.Select(c => c.LastTransitionTime));
    }

    [Fact]
    public void AConditionLostFromTheObject_IsWrittenAgain()
    {
        var first = ExportStatus.Next([Valid(), Ready(), Conflict(ConditionStatus.False)], null, null, T0)!;

        var next = ExportStatus.Next([Valid(), Ready(), Conflict(ConditionStatus.False)], first.Where(c => c.Type != "Ready").ToList(), null, T1)!;

        Assert.Equal(3, next.Count);
        Assert.Equal(T1.AddMilliseconds(-400), Held(next, "Ready").LastTransitionTime);
    }
}
