namespace Jex.Runtime.Deploy;

/// <summary>
/// A stored version: a folder of user code and what the upload said about it. Loading it makes a
/// <see cref="LoadedCode"/>; the version itself is only files and metadata.
/// </summary>
internal sealed class CodeVersion(string id, string label, string directory, byte[] sha256, int files, long bytes, long uploadedMs, bool removable)
{
    /// <summary>"v" and a number; "v0" is the code the runtime started with, "" when deploy is off.</summary>
    public string Id { get; } = id;

    public string Label { get; } = label;

    /// <summary>The folder (or, for the startup code, the UserCode:Path) that is loaded.</summary>
    public string Directory { get; } = directory;

    public byte[] Sha256 { get; } = sha256;

    public int Files { get; } = files;

    public long Bytes { get; } = bytes;

    public long UploadedMs { get; } = uploadedMs;

    /// <summary>False for the startup code: its files are the user's UserCode:Path, not the runtime's to delete.</summary>
    public bool Removable { get; } = removable;

    /// <summary>Set once a load of it finished: it was loaded at least once.</summary>
    public bool WasLoaded { get; set; }
}
