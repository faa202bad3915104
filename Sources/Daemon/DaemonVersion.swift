/// The daemon's version, recorded in error sidecars, provenance and the status file.
public enum DaemonVersion {
    public static let string = "0.1.0"
}
