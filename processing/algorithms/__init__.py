"""One QgsProcessingAlgorithm per module; ALGORITHMS is what the provider registers."""

from .aoristic import Aoristic
from .assign_incidents import AssignIncidents
from .briefing_map import BriefingMap
from .change_test import ChangeTest
from .concentration import Concentration
from .emerging_hotspots import EmergingHotspots
from .evaluate_forecast import EvaluateForecast
from .evaluate_intervention import EvaluateIntervention
from .gistar import GiStar
from .hot_streets import HotStreets
from .kernel_density import KernelDensity
from .local_moran import LocalMoran
from .near_repeat import NearRepeat
from .network_kde import NetworkKde
from .observed_dosage import ObservedDosage
from .optimized_hotspots import OptimizedHotspots
from .patrol_dosage import PatrolDosage
from .street_segments import StreetSegments

ALGORITHMS = (
    KernelDensity,
    GiStar,
    LocalMoran,
    OptimizedHotspots,
    EmergingHotspots,
    HotStreets,
    NetworkKde,
    StreetSegments,
    AssignIncidents,
    Concentration,
    PatrolDosage,
    ObservedDosage,
    EvaluateForecast,
    BriefingMap,
    NearRepeat,
    ChangeTest,
    EvaluateIntervention,
    Aoristic,
)
