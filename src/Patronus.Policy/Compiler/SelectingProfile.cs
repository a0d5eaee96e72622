using Patronus.Policy.Compiled;
using Patronus.Policy.Model;

namespace Patronus.Policy.Compiler;

/// <summary>
/// The set of policies that select a pod, shared by every pod selected by exactly that set (typically all
/// replicas of a workload). Their compiled directions are built once per update and shared: egress depends
/// only on the policies, ingress also on how the pod's container ports resolve named ports.
/// </summary>
internal sealed class SelectingProfile
{
    private long epoch = -1;
    private DirectionPolicy? egress;
    private DirectionPolicy? ingressWithoutNames;
    private Dictionary<string, DirectionPolicy>? ingressByPorts;

    public SelectingProfile(string key, PolicyState[] policies)
    {
        Key = key;
        Policies = policies;
        IngressBy = policies.Where(p => p.AppliesTo(PolicyTypes.Ingress)).Select(p => p.Key).ToArray();
        EgressBy = policies.Where(p => p.AppliesTo(PolicyTypes.Egress)).Select(p => p.Key).ToArray();
        IngressNamesPorts = policies.Any(p => p.AppliesTo(PolicyTypes.Ingress) && p.Ingress.Any(r => r.HasNamedPorts));
    }

    public string Key { get; }

    /// <summary>How many pods hold this profile; profiles nobody holds are swept away.</summary>
    public int Users { get; set; }

    public PolicyState[] Policies { get; }

    public string[] IngressBy { get; }

    public string[] EgressBy { get; }

    /// <summary>Whether some ingress rule names ports, so that ingress depends on the pod's own ports.</summary>
    public bool IngressNamesPorts { get; }

    /// <summary>
    /// The compiled directions for a pod of this profile. Cached for the update <paramref name="currentEpoch"/>:
    /// rules only change between updates.
    /// </summary>
    public (DirectionPolicy Ingress, DirectionPolicy Egress) Directions(PodEntry entry, long currentEpoch)
    {
        if (epoch != currentEpoch)
        {
            epoch = currentEpoch;
            egress = ingressWithoutNames = null;
            ingressByPorts?.Clear();
        }
        egress ??= BuildEgress();
        DirectionPolicy ingress;
        if (!IngressNamesPorts)
        {
            ingress = ingressWithoutNames ??= BuildIngress(entry);
        }
        else
        {
            ingressByPorts ??= [];
            if (!ingressByPorts.TryGetValue(entry.PortsSignature, out ingress!))
                ingressByPorts[entry.PortsSignature] = ingress = BuildIngress(entry);
        }
        return (ingress, egress);
    }

    private DirectionPolicy BuildIngress(PodEntry entry)
    {
        if (IngressBy.Length == 0)
            return DirectionPolicy.Open;
        var rules = new List<AllowRule>();
        foreach (var policy in Policies)
            if (policy.AppliesTo(PolicyTypes.Ingress))
                foreach (var rule in policy.Ingress)
                    rule.AppendIngress(entry, rules);
        return new DirectionPolicy(true, IngressBy, rules.ToArray());
    }

    private DirectionPolicy BuildEgress()
    {
        if (EgressBy.Length == 0)
            return DirectionPolicy.Open;
        var rules = new List<AllowRule>();
        foreach (var policy in Policies)
            if (policy.AppliesTo(PolicyTypes.Egress))
                foreach (var rule in policy.Egress)
                    rules.AddRange(rule.SharedRules());
        return new DirectionPolicy(true, EgressBy, rules.ToArray());
    }
}
