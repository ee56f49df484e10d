"""Vocabulary tables of the EPCIS 2.0 JSON binding (GS1 CBV 2.0 terms) and our own terms.

In the JSON binding a CBV value is written as its bare term (``receiving``); any other
vocabulary is written as a URI that is not in the CBV namespaces. Measurement types and
sensor alert types may not be URIs of the GS1 Web Vocabulary instead.
"""

from __future__ import annotations

EVENT_TYPES = frozenset(
    {
        "ObjectEvent",
        "AggregationEvent",
        "AssociationEvent",
        "TransformationEvent",
        "TransactionEvent",
    }
)

ACTIONS = frozenset({"OBSERVE", "ADD", "DELETE"})

BIZ_STEPS = frozenset(
    """accepting arriving assembling collecting commissioning consigning creating_class_instance
    cycle_counting decommissioning departing destroying disassembling dispensing encoding
    entering_exiting holding inspecting installing killing loading other packing picking
    receiving removing repackaging repairing replacing reserving retail_selling shipping
    staging_outbound stock_taking stocking storing transporting unloading unpacking
    void_shipping sensor_reporting sampling""".split()
)

DISPOSITIONS = frozenset(
    """active container_closed damaged destroyed dispensed disposed encoded expired in_progress
    in_transit inactive no_pedigree_match non_sellable_other partially_dispensed recalled
    reserved retail_sold returned sellable_accessible sellable_not_accessible stolen unknown
    available completeness_verified completeness_inferred conformant container_open
    mismatch_instance mismatch_class mismatch_quantity needs_replacement non_conformant
    unavailable""".split()
)

ERROR_REASONS = frozenset({"did_not_occur", "incorrect_data"})

BIZ_TRANSACTION_TYPES = frozenset(
    "bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt".split()
)

SOURCE_DESTINATION_TYPES = frozenset({"owning_party", "possessing_party", "location"})

SENSOR_ALERT_TYPES = frozenset({"ALARM_CONDITION", "ERROR_CONDITION"})

COMPONENTS = frozenset(
    """x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle
    easting northing latitude longitude altitude""".split()
)

MEASUREMENT_TYPES = frozenset(
    """AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude
    AmountOfSubstance AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum
    AngularVelocity Area Capacitance Conductance Conductivity Count Density Dimensionless
    DoseEquivalent DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent
    ElectricCurrentDensity ElectricFieldStrength Energy Exposure Force Frequency Illuminance
    Inductance Irradiance KinematicViscosity Length LinearMomentum Luminance LuminousFlux
    LuminousIntensity MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass
    MassConcentration MassFlowRate MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy
    MolarMass MolarVolume Power Pressure RadiantFlux RadiantIntensity RelativeHumidity
    Resistance Resistivity SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension
    Temperature Time Torque Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux
    Wavenumber""".split()
)

# URIs in these namespaces are CBV terms in another binding's spelling: refused in JSON.
CBV_URI_PREFIXES = ("urn:epcglobal:cbv", "http://ns.gs1.org/cbv/", "https://ns.gs1.org/cbv/")
GS1_WEB_VOCABULARY_PREFIXES = (
    "http://gs1.org/voc/",
    "https://gs1.org/voc/",
    "http://www.gs1.org/voc/",
    "https://www.gs1.org/voc/",
)

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
SCHEMA_VERSION = "2.0"

# ---------------------------------------------------------------- EventGuard's own terms

# Identifiers EventGuard mints (places, certificates, test reports, its own business steps)
# live under this URN namespace; extension fields under the JSON-LD prefix "eg".
NAMESPACE = "urn:eventguard:"
EXTENSION_PREFIX = "eg"
EXTENSION_NAMESPACE = "urn:eventguard:epcis:"

BIZ_STEP_DISINFECTING = NAMESPACE + "bizstep:disinfecting"
BIZ_TRANSACTION_CUSTOMS_DECLARATION = NAMESPACE + "btt:customs_declaration"
