using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using k8s.Models;
using Patronus.Policy.Compiled;
using Patronus.Policy.Model;

namespace Patronus.Kubernetes.Mapping;

/// <summary>
/// Maps KubernetesClient objects (from files or from the API) to the pure policy model, validating what the
/// engine relies on as the API server would: selector operators, CIDRs, ports, protocols. An object with any
/// invalid field is rejected whole, with every problem named by field path.
/// </summary>
public static partial class PolicyModelMapper
{
    public const string DefaultNamespace = "default";

    public static MappingResult<Namespace> ToNamespace(V1Namespace ns)
    {
        var errors = new ErrorList("Namespace", null, ns.Metadata?.Name);
        CheckName(ns.Metadata?.Name, "metadata.name", label: true, errors);
        CheckLabels(ns.Metadata?.Labels, "metadata.labels", errors);
        return errors.Result(() => new Namespace(ns.Metadata!.Name, Labels(ns.Metadata.Labels)));
    }

    /// <summary>
    /// A pod's addresses are <c>status.podIPs</c> (or <c>status.podIP</c>), primary first. Pods that finished
    /// (phase Succeeded or Failed) have released their addresses and are mapped without any.
    /// </summary>
    public static MappingResult<Pod> ToPod(V1Pod pod)
    {
        var ns = pod.Metadata?.NamespaceProperty ?? DefaultNamespace;
        var errors = new ErrorList("Pod", ns, pod.Metadata?.Name);
        CheckName(pod.Metadata?.Name, "metadata.name", label: false, errors);
        CheckName(ns, "metadata.namespace", label: true, errors);
        CheckLabels(pod.Metadata?.Labels, "metadata.labels", errors);

        var addresses = new List<IPAddress>();
        var status = pod.Status;
        if (status?.PodIPs is { Count: > 0 } podIps)
        {
            for (var i = 0; i < podIps.Count; i++)
            {
                if (podIps[i] is null)
                    errors.Add($"status.podIPs[{i}]", MustNotBeNull);
                else
                    AddAddress(podIps[i].Ip, $"status.podIPs[{i}].ip", addresses, errors);
            }
        }
        else if (!string.IsNullOrEmpty(status?.PodIP))
        {
            AddAddress(status.PodIP, "status.podIP", addresses, errors);
        }
        if (status?.Phase is "Succeeded" or "Failed")
            addresses.Clear();

        var ports = new List<ContainerPort>();
        var containers = pod.Spec?.Containers ?? [];
        for (var c = 0; c < containers.Count; c++)
        {
            if (containers[c] is null)
            {
                errors.Add($"spec.containers[{c}]", MustNotBeNull);
                continue;
            }
            var declared = containers[c].Ports ?? [];
            for (var p = 0; p < declared.Count; p++)
            {
                var field = $"spec.containers[{c}].ports[{p}]";
                var port = declared[p];
                if (port is null)
                {
                    errors.Add(field, MustNotBeNull);
                    continue;
                }
                var protocol = ParseProtocol(port.Protocol, field + ".protocol", errors);
                if (port.ContainerPort is < 1 or > 65535)
                    errors.Add(field + ".containerPort", $"{port.ContainerPort} is not a port number (1-65535)");
                else if (protocol is { } proto)
                    ports.Add(new ContainerPort(string.IsNullOrEmpty(port.Name) ? null : port.Name, port.ContainerPort, proto));
            }
        }
        return errors.Result(() => new Pod(ns, pod.Metadata!.Name, Labels(pod.Metadata.Labels), addresses, ports));
    }

    public static MappingResult<NetworkPolicy> ToPolicy(V1NetworkPolicy policy)
    {
        var ns = policy.Metadata?.NamespaceProperty ?? DefaultNamespace;
        var errors = new ErrorList("NetworkPolicy", ns, policy.Metadata?.Name);
        CheckName(policy.Metadata?.Name, "metadata.name", label: false, errors);
        CheckName(ns, "metadata.namespace", label: true, errors);
        var spec = policy.Spec;
        if (spec is null)
        {
            errors.Add("spec", "is required");
            return errors.Result<NetworkPolicy>(() => throw new InvalidOperationException());
        }

        var podSelector = Selector(spec.PodSelector, "spec.podSelector", errors) ?? LabelSelector.Everything;
        var ingress = Rules(spec.Ingress?.Select(r => r is null ? NullRule : (r.FromProperty, r.Ports)).ToList(), "spec.ingress", "from", errors);
        var egress = Rules(spec.Egress?.Select(r => r is null ? NullRule : (r.To, r.Ports)).ToList(), "spec.egress", "to", errors);

        var types = PolicyTypes.None;
        var declaredTypes = spec.PolicyTypes ?? [];
        for (var i = 0; i < declaredTypes.Count; i++)
            types |= declaredTypes[i] switch
            {
                null => errors.Add($"spec.policyTypes[{i}]", MustNotBeNull, PolicyTypes.None),
                "Ingress" => PolicyTypes.Ingress,
                "Egress" => PolicyTypes.Egress,
                var other => errors.Add($"spec.policyTypes[{i}]", $"unknown policy type \"{other}\" (expected Ingress or Egress)", PolicyTypes.None),
            };
        if (declaredTypes.Count == 0)
            types = NetworkPolicy.DefaultTypes(egress);

        return errors.Result(() => new NetworkPolicy(ns, policy.Metadata!.Name, podSelector, types, ingress, egress));
    }

    private static readonly (IList<V1NetworkPolicyPeer>? Peers, IList<V1NetworkPolicyPort>? Ports)? NullRule = null;

    private static List<PolicyRule> Rules(List<(IList<V1NetworkPolicyPeer>? Peers, IList<V1NetworkPolicyPort>? Ports)?>? rules, string field, string peersName, ErrorList errors)
    {
        var result = new List<PolicyRule>();
        if (rules is null)
            return result;
        for (var i = 0; i < rules.Count; i++)
        {
            var ruleField = $"{field}[{i}]";
            if (rules[i] is not { } rule)
            {
                // A null rule is not "allow everything" (an empty rule is): refuse it rather than guess.
                errors.Add(ruleField, MustNotBeNull);
                continue;
            }
            var peers = new List<PolicyPeer>();
            var declaredPeers = rule.Peers ?? [];
            for (var j = 0; j < declaredPeers.Count; j++)
                if (Peer(declaredPeers[j], $"{ruleField}.{peersName}[{j}]", errors) is { } peer)
                    peers.Add(peer);
            var ports = new List<PolicyPort>();
            var declaredPorts = rule.Ports ?? [];
            for (var j = 0; j < declaredPorts.Count; j++)
                if (Port(declaredPorts[j], $"{ruleField}.ports[{j}]", errors) is { } port)
                    ports.Add(port);
            result.Add(new PolicyRule(peers, ports));
        }
        return result;
    }

    private static PolicyPeer? Peer(V1NetworkPolicyPeer? peer, string field, ErrorList errors)
    {
        if (peer is null)
            return errors.Add<PolicyPeer?>(field, MustNotBeNull, null);
        if ((peer.PodSelector is null && peer.NamespaceSelector is null && peer.IpBlock is null))
            return errors.Add<PolicyPeer?>(field, "must set podSelector, namespaceSelector or ipBlock", null);
        if (peer.IpBlock is not null)
        {
            if (peer.PodSelector is not null || peer.NamespaceSelector is not null)
                return errors.Add<PolicyPeer?>(field, "ipBlock cannot be combined with podSelector or namespaceSelector", null);
            var block = IpBlock(peer.IpBlock, field + ".ipBlock", errors);
            return block is null ? null : PolicyPeer.Block(block);
        }
        var pods = Selector(peer.PodSelector, field + ".podSelector", errors);
        var namespaces = Selector(peer.NamespaceSelector, field + ".namespaceSelector", errors);
        return new PolicyPeer(pods, namespaces, null);
    }

    private static IpBlock? IpBlock(V1IPBlock block, string field, ErrorList errors)
    {
        var cidr = ParseCidr(block.Cidr, field + ".cidr", errors);
        var except = new List<IPNetwork>();
        var declared = block.Except ?? [];
        for (var i = 0; i < declared.Count; i++)
        {
            var exceptField = $"{field}.except[{i}]";
            if (ParseCidr(declared[i], exceptField, errors) is not { } excepted || cidr is not { } outer)
                continue;
            if (excepted.BaseAddress.AddressFamily != outer.BaseAddress.AddressFamily ||
                excepted.PrefixLength < outer.PrefixLength || !outer.Contains(excepted.BaseAddress))
                errors.Add(exceptField, $"\"{declared[i]}\" is not inside the cidr {outer}");
            else
                except.Add(excepted);
        }
        return cidr is { } network ? new IpBlock(network, except) : null;
    }

    /// <summary>
    /// Parses a CIDR, masking host bits: the API server's validation historically accepted "10.0.0.1/24"
    /// (Go's net.ParseCIDR masks), and such policies exist in real clusters.
    /// </summary>
    internal static IPNetwork? ParseCidr(string? text, string field, ErrorList errors)
    {
        var slash = text?.IndexOf('/') ?? -1;
        if (text is null || slash < 0 ||
            !IPAddress.TryParse(text.AsSpan(0, slash), out var address) ||
            !int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, null, out var prefix) ||
            prefix > (address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32) ||
            address.ToString().Contains('%'))
            return errors.Add<IPNetwork?>(field, $"\"{text}\" is not a valid CIDR (expected e.g. 10.0.0.0/16 or fd00::/64)", null);
        var bytes = address.GetAddressBytes();
        for (var bit = prefix; bit < bytes.Length * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPNetwork(new IPAddress(bytes), prefix);
    }

    private static PolicyPort? Port(V1NetworkPolicyPort? port, string field, ErrorList errors)
    {
        // A null port must not vanish: a rule left with no ports would admit every port.
        if (port is null)
            return errors.Add<PolicyPort?>(field, MustNotBeNull, null);
        var protocol = ParseProtocol(port.Protocol, field + ".protocol", errors);
        int? number = null;
        string? name = null;
        var value = port.Port?.Value;
        if (!string.IsNullOrEmpty(value))
        {
            if (int.TryParse(value, System.Globalization.NumberStyles.None, null, out var parsed))
            {
                if (parsed is < 1 or > 65535)
                    return errors.Add<PolicyPort?>(field + ".port", $"{parsed} is not a port number (1-65535)", null);
                number = parsed;
            }
            else if (!PortName().IsMatch(value))
                return errors.Add<PolicyPort?>(field + ".port", $"\"{value}\" is neither a port number nor a port name (IANA_SVC_NAME: up to 15 lowercase letters, digits and '-', with a letter)", null);
            else
                name = value;
        }
        if (port.EndPort is { } end)
        {
            if (number is null)
                return errors.Add<PolicyPort?>(field + ".endPort", "requires port to be a number", null);
            if (end < number || end > 65535)
                return errors.Add<PolicyPort?>(field + ".endPort", $"{end} must be between port ({number}) and 65535", null);
        }
        return protocol is { } proto ? new PolicyPort(proto, number, name, port.EndPort) : null;
    }

    private static Protocol? ParseProtocol(string? text, string field, ErrorList errors) => text switch
    {
        null or "" => Protocol.Tcp,
        _ when text.Equals("TCP", StringComparison.OrdinalIgnoreCase) => Protocol.Tcp,
        _ when text.Equals("UDP", StringComparison.OrdinalIgnoreCase) => Protocol.Udp,
        _ when text.Equals("SCTP", StringComparison.OrdinalIgnoreCase) => Protocol.Sctp,
        _ => errors.Add<Protocol?>(field, $"unknown protocol \"{text}\" (expected TCP, UDP or SCTP)", null),
    };

    private static LabelSelector? Selector(V1LabelSelector? selector, string field, ErrorList errors)
    {
        if (selector is null)
            return null;
        var requirements = new List<LabelRequirement>();
        var expressions = selector.MatchExpressions ?? [];
        for (var i = 0; i < expressions.Count; i++)
        {
            var expressionField = $"{field}.matchExpressions[{i}]";
            var expression = expressions[i];
            if (expression is null)
            {
                errors.Add(expressionField, MustNotBeNull);
                continue;
            }
            if (string.IsNullOrEmpty(expression.Key))
            {
                errors.Add(expressionField + ".key", "is required");
                continue;
            }
            var values = expression.Values?.ToArray() ?? [];
            var nullValue = Array.IndexOf(values, null);
            if (nullValue >= 0)
            {
                errors.Add($"{expressionField}.values[{nullValue}]", MustNotBeNull);
                continue;
            }
            SelectorOperator? op = expression.OperatorProperty switch
            {
                "In" => SelectorOperator.In,
                "NotIn" => SelectorOperator.NotIn,
                "Exists" => SelectorOperator.Exists,
                "DoesNotExist" => SelectorOperator.DoesNotExist,
                var other => errors.Add<SelectorOperator?>(expressionField + ".operator",
                    $"unknown operator \"{other}\" (expected In, NotIn, Exists or DoesNotExist)", null),
            };
            if (op is SelectorOperator.In or SelectorOperator.NotIn && values.Length == 0)
                errors.Add(expressionField + ".values", $"must not be empty for operator {op}");
            else if (op is SelectorOperator.Exists or SelectorOperator.DoesNotExist && values.Length > 0)
                errors.Add(expressionField + ".values", $"must be empty for operator {op}");
            else if (op is { } valid)
                requirements.Add(new LabelRequirement(expression.Key, valid, values));
        }
        CheckLabels(selector.MatchLabels, field + ".matchLabels", errors);
        return new LabelSelector(Labels(selector.MatchLabels), requirements);
    }

    private static void AddAddress(string? text, string field, List<IPAddress> addresses, ErrorList errors)
    {
        if (IPAddress.TryParse(text, out var address) && !text!.Contains('/'))
            addresses.Add(address);
        else
            errors.Add(field, $"\"{text}\" is not an IP address");
    }

    private const string MustNotBeNull = "must not be null";

    /// <summary>
    /// Object names as the API server validates them (a DNS-1123 label for namespaces, a DNS-1123 subdomain
    /// for pods and policies): names travel into the datapath, and one the API server would never hold must
    /// not reach it from a file.
    /// </summary>
    private static void CheckName(string? name, string field, bool label, ErrorList errors)
    {
        if (string.IsNullOrEmpty(name))
            errors.Add(field, "is required");
        else if (label ? name.Length > 63 || !DnsLabel().IsMatch(name) : name.Length > 253 || !DnsSubdomain().IsMatch(name))
            errors.Add(field, label
                ? $"\"{name}\" is not a valid name (up to 63 lowercase letters, digits and '-', starting and ending with a letter or digit)"
                : $"\"{name}\" is not a valid name (up to 253 lowercase letters, digits, '-' and '.', each part starting and ending with a letter or digit)");
    }

    private static void CheckLabels(IDictionary<string, string>? labels, string field, ErrorList errors)
    {
        if (labels is null)
            return;
        foreach (var (key, value) in labels)
            if (value is null)
                errors.Add($"{field}.{key}", MustNotBeNull);
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();

    private static IReadOnlyDictionary<string, string> Labels(IDictionary<string, string>? labels) =>
        labels is null ? new Dictionary<string, string>() : new Dictionary<string, string>(labels);

    [GeneratedRegex("^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$")]
    private static partial Regex PortName();

    internal sealed class ErrorList(string kind, string? ns, string? name)
    {
        private readonly List<ObjectError> errors = [];

        public void Add(string field, string message) => errors.Add(new ObjectError(null, kind, ns, name, field, message));

        public T Add<T>(string field, string message, T fallback)
        {
            Add(field, message);
            return fallback;
        }

        public MappingResult<T> Result<T>(Func<T> build) where T : class =>
            errors.Count == 0 ? MappingResult<T>.Success(build()) : MappingResult<T>.Failure(errors);
    }
}
