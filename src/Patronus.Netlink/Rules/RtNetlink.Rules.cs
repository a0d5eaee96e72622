using System.Net.Sockets;
using Patronus.Netlink.Addresses;
using Patronus.Netlink.Protocol;
using Patronus.Netlink.Rules;

namespace Patronus.Netlink;

public sealed partial class RtNetlink
{
    /// <summary>Adds a policy routing rule; fails with <see cref="NetlinkException.IsExists"/> when an identical rule exists.</summary>
    public void RuleAdd(RoutingRule rule)
    {
        CheckRule(rule);
        var writer = _socket.Writer();
        RuleMessages.Write(ref writer, RouteMessageType.NewRule, RequestFlags.Create, _socket.NextSequence(), rule);
        _socket.Execute(ref writer, "add rule", $"\"{rule}\"");
    }

    /// <summary>Deletes the first rule matching every selector given; false when none matched (ENOENT).</summary>
    public bool RuleDel(RoutingRule rule)
    {
        CheckRule(rule);
        var writer = _socket.Writer();
        RuleMessages.Write(ref writer, RouteMessageType.DeleteRule, RequestFlags.Change, _socket.NextSequence(), rule);
        return ExecuteDelete(ref writer, "delete rule", $"\"{rule}\"");
    }

    /// <summary>Lists the rules of one family, optionally only those installed with <paramref name="protocol"/>.</summary>
    public IReadOnlyList<RoutingRule> RuleList(AddressFamily family, RouteProtocol? protocol = null)
    {
        var writer = _socket.Writer();
        RuleMessages.Dump(ref writer, _socket.NextSequence(), AddressMessages.FamilyByte(family));
        var all = new List<RoutingRule>();
        _socket.Dump(ref writer, "list", "rules", all, static (list, in message) =>
        {
            if (message.Type == RouteMessageType.NewRule)
            {
                list.Add(RuleMessages.Parse(message));
            }
        });

        return protocol is null ? all : all.Where(r => r.Protocol == protocol).ToList();
    }

    private static void CheckRule(RoutingRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        AddressMessages.FamilyByte(rule.Family);
        if (rule.Table < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rule.Table), rule.Table, "rule table must not be negative");
        }

        if (rule.Priority is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rule.Priority), rule.Priority, "rule priority must not be negative");
        }

        if (rule.Mask is not null && rule.Mark is null)
        {
            throw new ArgumentException("a rule's mark mask needs a mark to compare with", nameof(rule.Mask));
        }

        foreach (var (prefix, name) in new[] { (rule.Source, nameof(rule.Source)), (rule.Destination, nameof(rule.Destination)) })
        {
            if (prefix is { } p)
            {
                p.Validate(name);
                if (p.Family != rule.Family)
                {
                    throw new ArgumentException($"rule {name.ToLowerInvariant()} {p} is not in the rule's family {rule.Family}", name);
                }
            }
        }
    }
}
