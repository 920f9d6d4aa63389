; Inno Setup script: TuneLab's Windows installer, made from the PyInstaller bundle in dist\tunelab.
;   iscc /DAppVersion=0.1.0 /DVariant=cpu packaging\windows\tunelab.iss   ->  dist\TuneLab-0.1.0-setup.exe
; .github/workflows/build-windows.yml builds it, passing the version from pyproject.toml (the one source).
; Variant "cuda" (a bundle made with CUDA's torch) gives TuneLab-VERSION-cuda-setup.exe, split into slices.

#ifndef AppVersion
  #error Pass the version from pyproject.toml: iscc /DAppVersion=X.Y.Z
#endif
#ifndef Variant
  #define Variant "cpu"
#endif
#if Variant == "cuda"
  #define Suffix "-cuda"
#else
  #define Suffix ""
#endif

[Setup]
; One AppId for both variants: installing one replaces the other.
AppId={{6F0C2B8E-3D1A-4C59-9E7B-2A4D8F1C5B63}
AppName=TuneLab
AppVersion={#AppVersion}
AppVerName=TuneLab {#AppVersion}
AppPublisher=TuneLab developers
DefaultDirName={autopf}\TuneLab
DefaultGroupName=TuneLab
DisableProgramGroupPage=yes
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=TuneLab-{#AppVersion}{#Suffix}-setup
SetupIconFile=..\..\resources\icons\tunelab.ico
UninstallDisplayIcon={app}\tunelab.exe
UninstallDisplayName=TuneLab {#AppVersion}
WizardStyle=modern
; Fast LZMA2, not solid: the payload is mostly torch's DLLs, and setup stays quick to build and to unpack.
Compression=lzma2/fast
SolidCompression=no
#if Variant == "cuda"
; CUDA's libraries take the payload past what one setup file holds.
DiskSpanning=yes
DiskSliceSize=max
#endif

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\tunelab\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\TuneLab"; Filename: "{app}\tunelab.exe"
Name: "{autodesktop}\TuneLab"; Filename: "{app}\tunelab.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\tunelab.exe"; Description: "{cm:LaunchProgram,TuneLab}"; Flags: nowait postinstall skipifsilent

