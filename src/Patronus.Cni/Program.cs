using Patronus.Cni.Commands;
using Patronus.Cni.Spec;

return Invocation.Run(Environment.GetEnvironmentVariable, Console.OpenStandardInput(), Console.OpenStandardOutput());
