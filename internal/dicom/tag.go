package dicom

import "fmt"

// Tag is a DICOM attribute tag: group in the high 16 bits, element in the low 16.
type Tag uint32

// Group returns the tag's group number.
func (t Tag) Group() uint16 { return uint16(t >> 16) }

// Element returns the tag's element number.
func (t Tag) Element() uint16 { return uint16(t) }

// String formats the tag as (gggg,eeee).
func (t Tag) String() string { return fmt.Sprintf("(%04X,%04X)", t.Group(), t.Element()) }

func newTag(group, element uint16) Tag { return Tag(uint32(group)<<16 | uint32(element)) }

// Tags the package reads. Names follow the DICOM keywords.
const (
	tagFileMetaGroupLength   Tag = 0x00020000
	tagTransferSyntaxUID     Tag = 0x00020010
	tagSpecificCharacterSet  Tag = 0x00080005
	tagImageType             Tag = 0x00080008
	tagSOPClassUID           Tag = 0x00080016
	tagSOPInstanceUID        Tag = 0x00080018
	tagStudyDate             Tag = 0x00080020
	tagSeriesDate            Tag = 0x00080021
	tagStudyTime             Tag = 0x00080030
	tagAccessionNumber       Tag = 0x00080050
	tagModality              Tag = 0x00080060
	tagManufacturer          Tag = 0x00080070
	tagInstitutionName       Tag = 0x00080080
	tagStudyDescription      Tag = 0x00081030
	tagSeriesDescription     Tag = 0x0008103E
	tagManufacturerModelName Tag = 0x00081090
	tagPatientName           Tag = 0x00100010
	tagPatientID             Tag = 0x00100020
	tagPatientBirthDate      Tag = 0x00100030
	tagPatientSex            Tag = 0x00100040
	tagIdentityRemoved       Tag = 0x00120062
	tagDeidMethod            Tag = 0x00120063
	tagBodyPartExamined      Tag = 0x00180015
	tagStudyInstanceUID      Tag = 0x0020000D
	tagSeriesInstanceUID     Tag = 0x0020000E
	tagStudyID               Tag = 0x00200010
	tagSeriesNumber          Tag = 0x00200011
	tagAcquisitionNumber     Tag = 0x00200012
	tagInstanceNumber        Tag = 0x00200013
	tagImagePosition         Tag = 0x00200032
	tagImageOrientation      Tag = 0x00200037
	tagSliceLocation         Tag = 0x00201041
	tagPlanePositionSeq      Tag = 0x00209113
	tagPlaneOrientationSeq   Tag = 0x00209116

	tagSamplesPerPixel     Tag = 0x00280002
	tagPhotometric         Tag = 0x00280004
	tagPlanarConfiguration Tag = 0x00280006
	tagNumberOfFrames      Tag = 0x00280008
	tagRows                Tag = 0x00280010
	tagColumns             Tag = 0x00280011
	tagPixelSpacing        Tag = 0x00280030
	tagBitsAllocated       Tag = 0x00280100
	tagBitsStored          Tag = 0x00280101
	tagHighBit             Tag = 0x00280102
	tagPixelRepresentation Tag = 0x00280103
	tagSmallestPixelValue  Tag = 0x00280106
	tagLargestPixelValue   Tag = 0x00280107
	tagWindowCenter        Tag = 0x00281050
	tagWindowWidth         Tag = 0x00281051
	tagRescaleIntercept    Tag = 0x00281052
	tagRescaleSlope        Tag = 0x00281053
	tagWindowExplanation   Tag = 0x00281055
	tagVOILUTFunction      Tag = 0x00281056
	tagRedDescriptor       Tag = 0x00281101
	tagGreenDescriptor     Tag = 0x00281102
	tagBlueDescriptor      Tag = 0x00281103
	tagRedData             Tag = 0x00281201
	tagGreenData           Tag = 0x00281202
	tagBlueData            Tag = 0x00281203
	tagSegRedData          Tag = 0x00281221
	tagSegGreenData        Tag = 0x00281222
	tagSegBlueData         Tag = 0x00281223
	tagModalityLUTSeq      Tag = 0x00283000
	tagLUTDescriptor       Tag = 0x00283002
	tagLUTData             Tag = 0x00283006
	tagVOILUTSeq           Tag = 0x00283010
	tagPixelMeasuresSeq    Tag = 0x00289110
	tagFrameVOILUTSeq      Tag = 0x00289132
	tagPixelValueXformSeq  Tag = 0x00289145

	tagRootDirectoryOffset Tag = 0x00041200
	tagDirectoryRecordSeq  Tag = 0x00041220
	tagNextRecordOffset    Tag = 0x00041400
	tagLowerRecordOffset   Tag = 0x00041420
	tagDirectoryRecordType Tag = 0x00041430
	tagReferencedFileID    Tag = 0x00041500
	tagRefSOPClassInFile   Tag = 0x00041510
	tagRefSOPInstanceInFil Tag = 0x00041511
	tagRefTransferSyntax   Tag = 0x00041512

	tagSharedFunctionalGroups  Tag = 0x52009229
	tagPerFrameFunctionalGroup Tag = 0x52009230
	tagExtendedOffsetTable     Tag = 0x7FE00001
	tagExtendedOffsetLengths   Tag = 0x7FE00002
	tagFloatPixelData          Tag = 0x7FE00008
	tagDoubleFloatPixelData    Tag = 0x7FE00009
	tagPixelData               Tag = 0x7FE00010

	tagItem              Tag = 0xFFFEE000
	tagItemDelimiter     Tag = 0xFFFEE00D
	tagSequenceDelimiter Tag = 0xFFFEE0DD
)
