namespace Appliance.Configuration;

/// <summary>A setting from a flag, the environment or appsettings.json has a value that cannot be used; the message is for the operator.</summary>
public sealed class InvalidSettingException(string message) : Exception(message);
