import h5netcdf
import numpy
from scipy.io import netcdf_file

from tiled.adapters.registry import check_complete, inspect
from tiled.testing.adapters import ContainerCase, ContainerSuite
from tiled.testing.served import ServedSuite

NETCDF = "application/x-netcdf"


def write_netcdf4(path):
    temperature = numpy.arange(24, dtype="f8").reshape(4, 6) + 273.15
    with h5netcdf.File(path, "w") as f:
        f.attrs["title"] = "weather"
        f.dimensions = {"time": 4, "station": 6}
        t = f.create_variable("time", ("time",), "i8")
        t[:] = numpy.arange(4)
        t.attrs["units"] = "days since 2020-01-01"
        v = f.create_variable("temperature", ("time", "station"), "f8", chunks=(2, 6))
        v[:] = temperature
        v.attrs["units"] = "K"
        group = f.create_group("profiles")
        group.dimensions = {"depth": 3}
        d = group.create_variable("salinity", ("depth",), "f4")
        d[:] = numpy.array([35.0, 35.5, 36.0], "f4")
    return {  # variables in the order they were defined, then groups
        "time": numpy.arange(4),
        "temperature": temperature,
        "profiles": {"salinity": numpy.array([35.0, 35.5, 36.0], "f4")},
    }


def write_classic(path):
    pressure = numpy.arange(10, dtype=">i4")
    with netcdf_file(path, "w") as f:
        f.history = "classic"
        f.createDimension("level", 10)
        v = f.createVariable("pressure", "i4", ("level",))
        v[:] = pressure
        v.units = "hPa"
    return {"pressure": pressure}


class TestNetCDF(ContainerSuite, ServedSuite):
    def cases(self, directory):
        directory.mkdir(parents=True)
        tree4 = write_netcdf4(directory / "weather.nc")
        classic = write_classic(directory / "classic.nc")
        return [
            ContainerCase(
                "weather",
                NETCDF,
                [directory / "weather.nc"],
                tree4,
                metadata={"": {"title": "weather"}, "temperature": {"units": "K"}},
                dims={"temperature": ("time", "station"), "profiles/salinity": ("depth",)},
            ),
            ContainerCase(
                "classic",
                NETCDF,
                [directory / "classic.nc"],
                classic,
                metadata={"": {"history": "classic"}, "pressure": {"units": "hPa"}},
                dims={"pressure": ("level",)},
            ),
        ]

    def test_netcdf_bookkeeping_is_not_metadata(self, written):
        weather = written[0]
        assert inspect(NETCDF, weather.paths).metadata == {"title": "weather"}

    def test_completeness(self, written, tmp_path):
        for case in written:
            assert check_complete(NETCDF, case.paths) is None
        partial = tmp_path / "partial.nc"
        partial.write_bytes(written[0].paths[0].read_bytes()[:-64])
        assert check_complete(NETCDF, [partial]) is not None
